// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: the "dma_heap" class, its nodes and DMA_HEAP_IOCTL_ALLOC.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-heap.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

/*
 * Our nodes go to /dev/dma_heap/<name> either way (see bb_devnode()). The class
 * is "dma_heap" as in mainline, so udev rules written for mainline heaps
 * match, unless the kernel has its own dma-heap framework but does not export
 * dma_heap_add() (CONFIG_DMABUF_HEAPS before 6.18): that kernel owns the class
 * name, so ours gets a name of its own. The char device region keeps the
 * name "dma_heap" so that systemd's DeviceAllow=char-dma_heap covers both.
 */
#if IS_ENABLED(CONFIG_DMABUF_HEAPS)
#define BB_CLASS_NAME	"bufbroker_heap"
#else
#define BB_CLASS_NAME	"dma_heap"
#endif
#define BB_CHRDEV_NAME	"dma_heap"

static dev_t bb_devt;
static struct class *bb_class;
static unsigned int bb_next_minor;

static const unsigned int bb_ioctl_cmds[] = {
	DMA_HEAP_IOCTL_ALLOC,
};

static int bb_heap_open(struct inode *inode, struct file *file)
{
	file->private_data = container_of(inode->i_cdev, struct bb_heap, cdev);
	return nonseekable_open(inode, file);
}

static long bb_ioctl_alloc(struct bb_heap *heap, struct dma_heap_allocation_data *data)
{
	struct dma_buf *dmabuf;
	int fd;

	if (data->fd)
		return -EINVAL;
	if (data->fd_flags & ~DMA_HEAP_VALID_FD_FLAGS)
		return -EINVAL;
	if (data->heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS)
		return -EINVAL;
	/* Zero, or so large that page alignment wraps to zero. */
	if (!data->len || !PAGE_ALIGN(data->len))
		return -EINVAL;

	dmabuf = bb_buffer_allocate(heap->region, heap->name, data->len, data->fd_flags);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	fd = dma_buf_fd(dmabuf, data->fd_flags);
	if (fd < 0) {
		/* The release callback frees the memory. */
		dma_buf_put(dmabuf);
		return fd;
	}
	data->fd = fd;
	return 0;
}

/*
 * Same argument handling as the kernel's own dma-heap framework: the
 * structure may grow, so a shorter user structure is zero-extended and a
 * longer one is accepted, copying back only what the caller passed in.
 */
static long bb_heap_ioctl(struct file *file, unsigned int ucmd, unsigned long arg)
{
	struct bb_heap *heap = file->private_data;
	union {
		struct dma_heap_allocation_data alloc;
		u8 bytes[128];
	} stack_kdata;
	void *kdata = &stack_kdata;
	unsigned int in_size, out_size, drv_size, ksize, kcmd, nr;
	long ret;

	nr = _IOC_NR(ucmd);
	if (_IOC_TYPE(ucmd) != DMA_HEAP_IOC_MAGIC || nr >= ARRAY_SIZE(bb_ioctl_cmds))
		return -ENOTTY;
	nr = array_index_nospec(nr, ARRAY_SIZE(bb_ioctl_cmds));
	kcmd = bb_ioctl_cmds[nr];

	drv_size = _IOC_SIZE(kcmd);
	out_size = _IOC_SIZE(ucmd);
	in_size = out_size;
	if (!(ucmd & kcmd & IOC_IN))
		in_size = 0;
	if (!(ucmd & kcmd & IOC_OUT))
		out_size = 0;
	ksize = max3(in_size, out_size, drv_size);

	if (ksize > sizeof(stack_kdata)) {
		kdata = kmalloc(ksize, GFP_KERNEL);
		if (!kdata)
			return -ENOMEM;
	}
	if (copy_from_user(kdata, (void __user *)arg, in_size)) {
		ret = -EFAULT;
		goto free_kdata;
	}
	if (ksize > in_size)
		memset(kdata + in_size, 0, ksize - in_size);

	switch (kcmd) {
	case DMA_HEAP_IOCTL_ALLOC:
		ret = bb_ioctl_alloc(heap, kdata);
		break;
	default:
		ret = -ENOTTY;
		goto free_kdata;
	}

	if (copy_to_user((void __user *)arg, kdata, out_size))
		ret = -EFAULT;
free_kdata:
	if (kdata != (void *)&stack_kdata)
		kfree(kdata);
	return ret;
}

static const struct file_operations bb_heap_fops = {
	.owner = THIS_MODULE,
	.open = bb_heap_open,
	.unlocked_ioctl = bb_heap_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static char *bb_devnode(BB_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "dma_heap/%s", dev_name(dev));
}

/**
 * bb_chardev_init() - create our heap class and reserve device numbers
 *
 * Return: 0 or a negative errno.
 */
int bb_chardev_init(void)
{
	int ret;

	/* Heaps registered with the kernel's dma-heap framework need none of this. */
	if (BB_HAVE_DMA_HEAP_API)
		return 0;

	ret = alloc_chrdev_region(&bb_devt, 0, BB_MAX_HEAPS, BB_CHRDEV_NAME);
	if (ret)
		return ret;
	bb_class = bb_class_create(BB_CLASS_NAME);
	if (IS_ERR(bb_class)) {
		ret = PTR_ERR(bb_class);
		pr_err("cannot create class %s (%d); does the kernel have its own dma-heaps?\n",
		       BB_CLASS_NAME, ret);
		goto unregister_region;
	}
	bb_class->devnode = bb_devnode;
	return 0;

unregister_region:
	unregister_chrdev_region(bb_devt, BB_MAX_HEAPS);
	bb_class = NULL;
	return ret;
}

/**
 * bb_chardev_exit() - undo bb_chardev_init(); all heaps must be gone
 */
void bb_chardev_exit(void)
{
	if (!bb_class)
		return;
	class_destroy(bb_class);
	unregister_chrdev_region(bb_devt, BB_MAX_HEAPS);
	bb_class = NULL;
}

static int bb_heap_node_add(struct bb_heap *heap)
{
	struct device *dev;
	int ret;

	if (bb_kernel_heap_exists(heap->name))
		return -EEXIST;
	if (bb_next_minor >= BB_MAX_HEAPS)
		return -ENOSPC;
	heap->devt = MKDEV(MAJOR(bb_devt), MINOR(bb_devt) + bb_next_minor);

	cdev_init(&heap->cdev, &bb_heap_fops);
	heap->cdev.owner = THIS_MODULE;
	ret = cdev_add(&heap->cdev, heap->devt, 1);
	if (ret)
		return ret;

	dev = device_create(bb_class, NULL, heap->devt, heap, "%s", heap->name);
	if (IS_ERR(dev)) {
		cdev_del(&heap->cdev);
		return PTR_ERR(dev);
	}
	heap->dev = dev;
	bb_next_minor++;
	return 0;
}

/**
 * bb_heap_add() - create the heap node @name for region @r
 * @r: the region
 * @name: heap name, unique among this module's heaps
 *
 * Return: 0, -EEXIST if the kernel already provides a heap of that name,
 * or another negative errno.
 */
int bb_heap_add(struct bb_region *r, const char *name)
{
	struct bb_heap *heap;
	int ret;

	heap = kzalloc(sizeof(*heap), GFP_KERNEL);
	if (!heap)
		return -ENOMEM;
	heap->region = r;
	heap->name = kstrdup(name, GFP_KERNEL);
	if (!heap->name) {
		ret = -ENOMEM;
		goto free_heap;
	}

	if (BB_HAVE_DMA_HEAP_API)
		ret = bb_kheap_add(heap);
	else
		ret = bb_heap_node_add(heap);
	if (ret)
		goto free_name;

	list_add_tail(&heap->list, &r->heaps);
	return 0;

free_name:
	kfree(heap->name);
free_heap:
	kfree(heap);
	return ret;
}

/**
 * bb_heaps_remove() - remove every heap node of a region
 * @r: the region
 *
 * Heaps registered with the kernel's framework cannot be removed; they
 * pin the module, so this is never reached for them.
 */
void bb_heaps_remove(struct bb_region *r)
{
	struct bb_heap *heap, *tmp;

	list_for_each_entry_safe_reverse(heap, tmp, &r->heaps, list) {
		list_del(&heap->list);
		if (heap->dev) {
			device_destroy(bb_class, heap->devt);
			cdev_del(&heap->cdev);
		}
		kfree(heap->name);
		kfree(heap);
	}
}
