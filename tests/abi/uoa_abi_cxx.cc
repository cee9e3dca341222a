// SPDX-License-Identifier: GPL-2.0
// include/uoa.h compiles as C++ too (its static asserts included).
#include "uoa.h"

unsigned long uoa_param_map_size() { return sizeof(struct uoa_param_map); }
