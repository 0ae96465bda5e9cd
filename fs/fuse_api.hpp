#pragma once
// The one place that picks the libfuse API version (3.12+: fuse_loop_cfg_*, fuse_lowlevel_ops as in 3.14).
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>
