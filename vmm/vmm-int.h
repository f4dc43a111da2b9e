/* SPDX-License-Identifier: MIT */
/* What vmm/'s files share and do not export (vmm.h is the interface). */
#ifndef GMEM_VMM_INT_H
#define GMEM_VMM_INT_H

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#endif /* GMEM_VMM_INT_H */
