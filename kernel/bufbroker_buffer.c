// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: the dma-buf exporter for contiguous region buffers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "bufbroker.h"

/* Longest scatterlist segment we build; sg lengths are 32-bit. */
#define BB_SG_MAX	SZ_1G

struct bb_buffer {
	struct bb_region *region;
	struct bb_chunk chunk;
	size_t len;
	bool uncached;
	struct mutex lock;		/* attachments, mapped flags, vmap */
	struct list_head attachments;
	unsigned int vmap_cnt;
	void *vaddr;
};

struct bb_attachment {
	struct list_head list;
	struct device *dev;
	struct sg_table table;
	bool mapped;
};

static int bb_fill_table(struct sg_table *table, struct page *page, size_t len)
{
	struct scatterlist *sg;
	unsigned int i, nents = DIV_ROUND_UP(len, BB_SG_MAX);
	size_t off = 0;
	int ret;

	ret = sg_alloc_table(table, nents, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(table, sg, i) {
		size_t seg = min_t(size_t, len - off, BB_SG_MAX);

		sg_set_page(sg, page + (off >> PAGE_SHIFT), seg, 0);
		off += seg;
	}
	return 0;
}

static int bb_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attachment)
{
	struct bb_buffer *buf = dmabuf->priv;
	struct bb_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = bb_fill_table(&a->table, buf->chunk.page, buf->len);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attachment->dev;
	INIT_LIST_HEAD(&a->list);
	attachment->priv = a;

	mutex_lock(&buf->lock);
	list_add(&a->list, &buf->attachments);
	mutex_unlock(&buf->lock);
	return 0;
}

static void bb_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *attachment)
{
	struct bb_buffer *buf = dmabuf->priv;
	struct bb_attachment *a = attachment->priv;

	mutex_lock(&buf->lock);
	list_del(&a->list);
	mutex_unlock(&buf->lock);

	sg_free_table(&a->table);
	kfree(a);
}

/*
 * A buffer of an uncached region is never in a CPU cache (its CPU mappings are write-combined and
 * it was flushed when allocated), so device mappings skip the cache maintenance.
 */
static unsigned long bb_dma_attrs(const struct bb_buffer *buf)
{
	return buf->uncached ? DMA_ATTR_SKIP_CPU_SYNC : 0;
}

static struct sg_table *bb_map_dma_buf(struct dma_buf_attachment *attachment,
				       enum dma_data_direction dir)
{
	struct bb_buffer *buf = attachment->dmabuf->priv;
	struct bb_attachment *a = attachment->priv;
	int ret;

	ret = dma_map_sgtable(attachment->dev, &a->table, dir, bb_dma_attrs(buf));
	if (ret)
		return ERR_PTR(ret);

	mutex_lock(&buf->lock);
	a->mapped = true;
	mutex_unlock(&buf->lock);
	return &a->table;
}

static void bb_unmap_dma_buf(struct dma_buf_attachment *attachment, struct sg_table *table,
			     enum dma_data_direction dir)
{
	struct bb_buffer *buf = attachment->dmabuf->priv;
	struct bb_attachment *a = attachment->priv;

	mutex_lock(&buf->lock);
	a->mapped = false;
	mutex_unlock(&buf->lock);
	dma_unmap_sgtable(attachment->dev, table, dir, bb_dma_attrs(buf));
}

/*
 * Whether an attachment before @a in the list is mapped exactly like @a: same device, same DMA
 * segments. Syncing @a too would repeat the same cache maintenance on the same memory (it goes
 * through the same dma_map_ops with the same addresses), so the caller skips it.
 */
static bool bb_same_mapping_before(struct bb_buffer *buf, struct bb_attachment *a)
{
	struct scatterlist *sa, *sb;
	struct bb_attachment *b;
	unsigned int i;

	list_for_each_entry(b, &buf->attachments, list) {
		if (b == a)
			return false;
		if (!b->mapped || b->dev != a->dev || b->table.nents != a->table.nents)
			continue;
		sb = b->table.sgl;
		for_each_sgtable_dma_sg(&a->table, sa, i) {
			if (sg_dma_address(sa) != sg_dma_address(sb) ||
			    sg_dma_len(sa) != sg_dma_len(sb))
				break;
			sb = sg_next(sb);
		}
		if (i == a->table.nents)
			return true;
	}
	return false;
}

/*
 * CPU access brackets (DMA_BUF_IOCTL_SYNC) sync every mapped attachment, but each distinct
 * mapping only once. Two queues of one device that import the same buffer (vivid's capture and
 * output, a codec's source and destination) map it to the same DMA address; syncing both doubled
 * the cache maintenance over the whole buffer on every SYNC START and END (for a 720p YUYV frame
 * 2 x 1.8 MB per call, the largest kernel cost per frame of the zero-copy pipeline).
 */
static int bb_begin_cpu_access(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct bb_buffer *buf = dmabuf->priv;
	struct bb_attachment *a;

	if (buf->uncached)
		return 0;
	mutex_lock(&buf->lock);
	if (buf->vmap_cnt)
		invalidate_kernel_vmap_range(buf->vaddr, buf->len);
	list_for_each_entry(a, &buf->attachments, list)
		if (a->mapped && !bb_same_mapping_before(buf, a))
			dma_sync_sgtable_for_cpu(a->dev, &a->table, dir);
	mutex_unlock(&buf->lock);
	return 0;
}

static int bb_end_cpu_access(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct bb_buffer *buf = dmabuf->priv;
	struct bb_attachment *a;

	if (buf->uncached)
		return 0;
	mutex_lock(&buf->lock);
	if (buf->vmap_cnt)
		flush_kernel_vmap_range(buf->vaddr, buf->len);
	list_for_each_entry(a, &buf->attachments, list)
		if (a->mapped && !bb_same_mapping_before(buf, a))
			dma_sync_sgtable_for_device(a->dev, &a->table, dir);
	mutex_unlock(&buf->lock);
	return 0;
}

static int bb_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct bb_buffer *buf = dmabuf->priv;
	unsigned long npages = buf->len >> PAGE_SHIFT;
	unsigned long addr, pgoff = vma->vm_pgoff;
	int ret;

	/* Private (copy-on-write) mappings of device memory make no sense. */
	if (!(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	if (buf->uncached)
		vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE, pgoff++) {
		if (pgoff >= npages)
			return -EINVAL;
		ret = vm_insert_page(vma, addr, buf->chunk.page + pgoff);
		if (ret)
			return ret;
	}
	return 0;
}

static int bb_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct bb_buffer *buf = dmabuf->priv;
	int ret = 0;

	mutex_lock(&buf->lock);
	if (!buf->vmap_cnt) {
		buf->vaddr = bb_vmap_range(buf->chunk.page, buf->len >> PAGE_SHIFT,
					   buf->uncached);
		if (!buf->vaddr) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	buf->vmap_cnt++;
	iosys_map_set_vaddr(map, buf->vaddr);
unlock:
	mutex_unlock(&buf->lock);
	return ret;
}

static void bb_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct bb_buffer *buf = dmabuf->priv;

	mutex_lock(&buf->lock);
	if (!--buf->vmap_cnt) {
		vunmap(buf->vaddr);
		buf->vaddr = NULL;
	}
	mutex_unlock(&buf->lock);
	iosys_map_clear(map);
}

static void bb_release(struct dma_buf *dmabuf)
{
	struct bb_buffer *buf = dmabuf->priv;

	if (buf->vmap_cnt) {
		pr_warn_once("buffer released while still vmapped\n");
		vunmap(buf->vaddr);
	}
	bb_region_free(buf->region, &buf->chunk, buf->len);
	mutex_destroy(&buf->lock);
	kfree(buf);
}

static const struct dma_buf_ops bb_dma_buf_ops = {
	.attach = bb_attach,
	.detach = bb_detach,
	.map_dma_buf = bb_map_dma_buf,
	.unmap_dma_buf = bb_unmap_dma_buf,
	.begin_cpu_access = bb_begin_cpu_access,
	.end_cpu_access = bb_end_cpu_access,
	.mmap = bb_mmap,
	.vmap = bb_vmap,
	.vunmap = bb_vunmap,
	.release = bb_release,
};

/**
 * bb_buffer_allocate() - allocate a buffer from a region and export it
 * @r: the region
 * @name: heap name the buffer was requested through (exporter name)
 * @len: length in bytes, non-zero
 * @fd_flags: file flags for the dma-buf (O_ACCMODE and O_CLOEXEC bits)
 *
 * Return: the dma-buf, or an ERR_PTR (-ENOMEM when the region is full).
 */
struct dma_buf *bb_buffer_allocate(struct bb_region *r, const char *name, size_t len,
				   u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct bb_buffer *buf;
	struct dma_buf *dmabuf;
	int ret;

	len = PAGE_ALIGN(len);
	if (!len)
		return ERR_PTR(-EINVAL);

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);
	buf->region = r;
	buf->len = len;
	buf->uncached = r->uncached;

	ret = bb_region_alloc(r, len, &buf->chunk);
	if (ret)
		goto free_buf;

	exp_info.exp_name = name;
	exp_info.owner = THIS_MODULE;
	exp_info.ops = &bb_dma_buf_ops;
	exp_info.size = len;
	exp_info.flags = fd_flags;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto free_memory;
	}
	return dmabuf;

free_memory:
	bb_region_free(r, &buf->chunk, len);
free_buf:
	mutex_destroy(&buf->lock);
	kfree(buf);
	return ERR_PTR(ret);
}
