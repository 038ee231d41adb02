/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufbroker_heap: one clean-and-invalidate pass to the point of coherency.
 *
 * An uncached region's fresh range was cleared through the cacheable linear
 * map, so its dirty lines must reach memory and all its lines must leave the
 * caches. The kernel does both in one pass for dma_alloc_coherent()
 * (dcache_clean_inval_poc()), but exports no function that does it for a
 * module: the DMA API's map and unmap take two passes, a clean then an
 * invalidate. The kernel's own macro builds the pass here, so the errata
 * workarounds are the running kernel's, patched in through the module's
 * alternatives as for built-in code. The line size comes from the caller:
 * the macro that reads it itself refers to an unexported symbol.
 *
 * 7.2 renamed the macro to a _nosync variant that leaves the barrier to the
 * caller; Kbuild detects which one the headers have.
 */
#include <linux/linkage.h>
#include <asm/assembler.h>

/*
 * void bb_dcache_clean_inval_poc(unsigned long start, unsigned long end,
 *				  unsigned long line_size)
 *
 * [start, end) is a range of the kernel's linear map; line_size is the
 * smallest data cache line of the system.
 */
SYM_FUNC_START(bb_dcache_clean_inval_poc)
#ifdef BUFBROKER_DCACHE_OP_NOSYNC
	dcache_by_myline_op_nosync civac, x0, x1, x2, x3
	dsb	sy
#else
	dcache_by_myline_op civac, sy, x0, x1, x2, x3
#endif
	ret
SYM_FUNC_END(bb_dcache_clean_inval_poc)
