// epoll: the interface between open files and epoll (kernel/event/epoll.cpp).
#pragma once

#include "kernel/fs/open_file.hpp"

namespace lightvm::guest {

// The last reference to f is going: its items leave every interest list
// (fd_table.cpp's file_put calls this before the file's release).
void epoll_forget_file(OpenFile* f);

}  // namespace lightvm::guest
