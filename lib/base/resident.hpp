// SPDX-License-Identifier: MIT
#pragma once

// The resident memory of a process that will mostly sleep from now on: a container's
// supervisor, which did the whole start (mounts, cgroups, the config, the clone) and then
// waits for the container for days.
namespace koker::resident {

// Gives back what getting here touched: the heap's free pages (malloc_trim), and the pages
// of the executable's own code and constants. Those stay in the page cache, shared with every
// other koker process, and fault back in (a minor fault each) when this process runs that
// code again; only its page-table entries and its count of resident pages go. A mapping of the
// executable holding a page of its own (a copy made by a write: .data, the relocated RELRO
// part) is left alone, as MADV_DONTNEED would throw that copy away. Best effort: any failure
// leaves things as they were.
void shed();

} // namespace koker::resident
