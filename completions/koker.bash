# bash completion for koker(1). Installed by `make install`; to try it from the build tree:
#   source completions/koker.bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)) is the completion idiom

_koker_tool_options() { # TOOL: the long options its --help lists
    koker "$@" --help 2>/dev/null | grep -oE -- '--[a-z][-a-z]*' | sort -u
}

_koker_containers() {
    local root=${KOKER_ROOT:-/var/lib/koker}
    ls "$root/names" 2>/dev/null
    koker ps -aq 2>/dev/null
}

_koker_volumes() {
    koker volume ls -q 2>/dev/null
}

_koker_images() {
    koker images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" { print $1 ":" $2 }'
}

_koker() {
    local cur=${COMP_WORDS[COMP_CWORD]} i word cmd="" sub="" operands=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
        --root) ((i++)) ;;
        --ip | --ip6 | --alias) [[ $sub =~ ^(connect|disconnect)$ ]] && ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $cmd ]]; then cmd=$word
            elif [[ -z $sub && $cmd =~ ^(container|c|image|i|system|volume|network|net)$ ]]; then sub=$word
            else ((operands++))
            fi
            ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "container c image i network net volume cgroup cg run exec ps pull images rmi rm logs stop kill inspect import stats cp diff export top port rename pause unpause update create start restart wait attach commit tag history build system info version help -D --debug -q --quiet -v --version -h --help --root" -- "$cur"))
        COMPREPLY+=($(compgen -W "save load" -- "$cur"))
        COMPREPLY+=($(compgen -W "push login logout" -- "$cur"))
        return
    fi
    case $cmd in
    container | c)
        [[ -z $sub ]] && { COMPREPLY=($(compgen -W "run exec ls ps rm logs stop kill inspect stats cp diff export top port rename pause unpause update create start restart wait attach commit" -- "$cur")); return; }
        cmd=$sub
        ;;
    image | i)
        [[ -z $sub ]] && { COMPREPLY=($(compgen -W "pull ls rm inspect import tag history save load push build prune" -- "$cur")); return; }
        case $sub in ls) cmd=images ;; rm) cmd=rmi ;; *) cmd=$sub ;; esac
        ;;
    network | net)
        if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "create ls rm inspect prune connect disconnect up attach detach gc down" -- "$cur"))
        elif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$(_koker_tool_options net)" -- "$cur"))
        elif [[ $sub =~ ^(rm|inspect)$ ]]; then COMPREPLY=($(compgen -W "$(koker network ls --format '{{.Name}}' 2>/dev/null)" -- "$cur"))
        elif [[ $sub =~ ^(connect|disconnect)$ ]]; then # NETWORK, then CONTAINER
            if ((operands == 0)); then COMPREPLY=($(compgen -W "$(koker network ls --format '{{.Name}}' 2>/dev/null)" -- "$cur"))
            elif ((operands == 1)); then COMPREPLY=($(compgen -W "$(_koker_containers)" -- "$cur"))
            fi
        fi
        return
        ;;
    cgroup | cg)
        COMPREPLY=($(compgen -W "create set add exec stats ls rm exists mode" -- "$cur"))
        return
        ;;
    system)
        [[ -z $sub ]] && { COMPREPLY=($(compgen -W "df prune info version" -- "$cur")); return; }
        cmd=system
        ;;
    info | version) cmd=system ;;
    volume)
        [[ -z $sub ]] && { COMPREPLY=($(compgen -W "create ls rm inspect prune" -- "$cur")); return; }
        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$(_koker_tool_options volume)" -- "$cur"))
        elif [[ $sub =~ ^(rm|inspect)$ ]]; then COMPREPLY=($(compgen -W "$(_koker_volumes)" -- "$cur"))
        fi
        return
        ;;
    esac
    # run flags whose values are words of their own
    if [[ $cmd == run || $cmd == create ]]; then
        case ${COMP_WORDS[COMP_CWORD - 1]} in
        --pull) COMPREPLY=($(compgen -W "always missing never" -- "$cur")); return ;;
        --network | --net) COMPREPLY=($(compgen -W "bridge none host slirp4netns pasta $(koker network ls --format '{{.Name}}' 2>/dev/null)" -- "$cur")); return ;;
        --security-opt) COMPREPLY=($(compgen -W "no-new-privileges seccomp=unconfined seccomp=" -- "$cur")); return ;;
        --device) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --stop-signal) COMPREPLY=($(compgen -W "TERM INT QUIT HUP USR1 USR2 KILL" -- "$cur")); return ;;
        --ulimit) COMPREPLY=($(compgen -W "core= cpu= data= fsize= locks= memlock= msgqueue= nice= nofile= nproc= rss= rtprio= rttime= sigpending= stack=" -- "$cur")); return ;;
        esac
    fi
    # save and load: archive files, and save's formats
    if [[ $cmd == save || $cmd == load ]]; then
        case ${COMP_WORDS[COMP_CWORD - 1]} in
        -o | --output | -i | --input) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "docker-archive oci-archive" -- "$cur")); return ;;
        esac
    fi
    # attach and start: docker's detach keys, and --sig-proxy's values
    if [[ $cmd =~ ^(attach|start)$ && ${COMP_WORDS[COMP_CWORD - 1]} == --detach-keys ]]; then
        COMPREPLY=($(compgen -W "ctrl-p,ctrl-q ctrl-x,x" -- "$cur"))
        return
    fi
    if [[ $cmd == attach && $cur == --sig-proxy=* ]]; then
        COMPREPLY=($(compgen -W "--sig-proxy=true --sig-proxy=false" -- "$cur"))
        return
    fi
    # push, login, logout (issue 17)
    if [[ $cmd == push && ${COMP_WORDS[COMP_CWORD - 1]} == --compression ]]; then
        COMPREPLY=($(compgen -W "gzip zstd" -- "$cur"))
        return
    fi
    # build (issue 18): the Dockerfile, RUN's network, the context directory
    if [[ $cmd == build ]]; then
        case ${COMP_WORDS[COMP_CWORD - 1]} in
        -f | --file | --iidfile) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --network) COMPREPLY=($(compgen -W "bridge none host" -- "$cur")); return ;;
        esac
        if [[ $cur != -* ]]; then
            COMPREPLY=($(compgen -d -- "$cur"))
            return
        fi
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_koker_tool_options "$cmd")" -- "$cur"))
        return
    fi
    if [[ $cmd == push ]]; then
        COMPREPLY=($(compgen -W "$(_koker_images)" -- "$cur"))
        return
    fi
    case $cmd in
    run | create | pull | rmi) COMPREPLY=($(compgen -W "$(_koker_images)" -- "$cur")) ;;
    exec | rm | logs | stop | kill | inspect | stats | start | restart | wait | attach) COMPREPLY=($(compgen -W "$(_koker_containers)" -- "$cur")) ;;
    ps) [[ ${COMP_WORDS[COMP_CWORD-1]} =~ ^(-f|--filter)$ ]] &&
        COMPREPLY=($(compgen -W "status= name= label= ancestor= id= exited=" -- "$cur")) ;;
    diff | export | top | port | rename | pause | unpause | update) COMPREPLY=($(compgen -W "$(_koker_containers)" -- "$cur")) ;;
    cp) # CONTAINER: or a host path, on either side
        COMPREPLY=($(compgen -W "$(_koker_containers | sed 's/$/:/')" -- "$cur") $(compgen -f -- "$cur"))
        compopt -o nospace 2>/dev/null ;;
    import) COMPREPLY=($(compgen -f -- "$cur")) ;;
    save) COMPREPLY=($(compgen -W "$(_koker_images)" -- "$cur")) ;;
    commit) COMPREPLY=($(compgen -W "$(_koker_containers)" -- "$cur")) ;;
    tag | history) COMPREPLY=($(compgen -W "$(_koker_images)" -- "$cur")) ;;
    esac
}

complete -F _koker koker
