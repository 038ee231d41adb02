/* SPDX-License-Identifier: MIT */
/*
 * bufbroker.h - libbufbroker, the client library of bufbrokerd.
 *
 * Link with `pkg-config --cflags --libs libbufbroker` (soname libbufbroker.so.1,
 * symbol version BUFBROKER_1).
 *
 * Conventions
 * - Every function that can fail returns >= 0 on success or a negative errno.
 *   Functions returning a pointer or size document their own failure value.
 * - Every fd the library creates or hands out is O_CLOEXEC.  Who owns an fd
 *   is in the function name and comment: *_get_fd() borrows (do not close;
 *   valid while the object lives), *_dup_fd() returns a new fd the caller
 *   owns and must close().
 * - Daemon errors map to errno (docs/contracts.md):
 *     org.bufbroker.Error.AccessDenied    -EACCES
 *     org.bufbroker.Error.QuotaExceeded   -EDQUOT
 *     org.bufbroker.Error.NoSuchRole      -ENOENT
 *     org.bufbroker.Error.NoSuchHeap      -ENODEV
 *     org.bufbroker.Error.RegionFull      -ENOMEM
 *     org.bufbroker.Error.InvalidArgument -EINVAL
 *     org.bufbroker.Error.NoSuchBuffer    -ESRCH
 *     org.bufbroker.Error.InvalidToken    -EBADMSG
 *     org.bufbroker.Error.NotSupported    -EOPNOTSUPP
 *   Other D-Bus errors use sd-bus's mapping; when bufbrokerd is not running
 *   calls fail with -EHOSTUNREACH (ServiceUnknown) or -ENXIO (NameHasNoOwner),
 *   and with -ETIMEDOUT after the call timeout.  bb_client_last_error_message()
 *   returns the daemon's text.
 *
 * Threads
 * - A struct bb_client is NOT thread-safe: use one bb_client per thread, or
 *   serialise every call on one client (including bb_client_dispatch() and
 *   buffer release) with your own mutex.  Different clients may be used from
 *   different threads concurrently.
 * - A struct bb_buffer may be used from any thread, but not concurrently with
 *   bb_client_release()/bb_buffer_free() of the same buffer, and
 *   bb_buffer_map()/bb_buffer_unmap() of one buffer must be serialised.
 *   bb_buffer_begin_cpu_access()/end are safe from several threads.
 * - bb_direct_*() and bb_image_layout_*() keep no shared state: thread-safe.
 *
 * Event loops
 * - Calls are synchronous and wait at most the client timeout (default 25 s,
 *   bb_client_set_timeout()).  To avoid blocking, use the *_async() calls and
 *   drive the client from your loop: poll bb_client_get_fd() for
 *   bb_client_get_events(), wake up at bb_client_get_timeout(), and call
 *   bb_client_dispatch() whenever either happens.  The fd stays the same for
 *   the life of the client (it is an epoll fd covering the bus and the
 *   private connection to bufbrokerd, see bb_client_connect()); ask
 *   bb_client_get_events() and the timeout again before every poll.
 */
#ifndef BUFBROKER_H
#define BUFBROKER_H

#include <stddef.h>
#include <stdint.h>

#include <bufbroker/bufbroker-layout.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque connection to bufbrokerd. */
struct bb_client;
/** Opaque dma-buf handle (from the daemon or from direct mode). */
struct bb_buffer;

/** Environment variable: D-Bus address to use instead of the system bus. */
#define BB_ENV_BUS_ADDRESS "BUFBROKER_BUS_ADDRESS"
/** Environment variables overriding /dev/dma_heap and the stats directory
 *  for direct mode (ignored in setuid/setgid processes). */
#define BB_ENV_HEAP_DIR "BUFBROKER_HEAP_DIR"
#define BB_ENV_STATS_DIR "BUFBROKER_STATS_DIR"

/** Default timeout of synchronous calls, in microseconds. */
#define BB_DEFAULT_TIMEOUT_USEC (25ULL * 1000 * 1000)

/** Longest share token plus the NUL. */
#define BB_TOKEN_MAX 128

/** Flags of bb_client_connect(). */
enum bb_connect_flags {
	/** Connect to the user (session) bus instead of the system bus. */
	BB_CONNECT_USER_BUS = 1u << 0,
	/** Send every call through dbus-daemon, never over a private
	 *  connection to bufbrokerd (slower; for comparisons, or to see the
	 *  calls in the bus's message logging, e.g. dbus-monitor). */
	BB_CONNECT_NO_SESSION = 1u << 1,
};

/** CPU access hint of struct bb_alloc_options. */
enum bb_cpu_access {
	BB_CPU_ACCESS_DEFAULT = 0, /**< no hint sent: daemon default */
	BB_CPU_ACCESS_NONE,
	BB_CPU_ACCESS_READ,
	BB_CPU_ACCESS_WRITE,
	BB_CPU_ACCESS_READ_WRITE,
};

/**
 * struct bb_alloc_options - optional allocation parameters
 * @name: buffer name for DMA_BUF_SET_NAME (the daemon adds its prefix; at
 *        most 31 bytes in total) or NULL
 * @cpu_access: an enum bb_cpu_access value
 * @reserved: must be zero (room for later options without an ABI break)
 * Zero-initialise it: `struct bb_alloc_options o = { .name = "cam0" };`
 */
struct bb_alloc_options {
	const char *name;
	uint32_t cpu_access;
	uint32_t reserved0;
	uint64_t reserved[4];
};

/* ---- Connection ------------------------------------------------------- */

/**
 * bb_client_connect() - connect to bufbrokerd
 * @out: receives the new client; free it with bb_client_free(); set to NULL
 *       on failure
 * @flags: 0 (system bus), BB_CONNECT_USER_BUS, BB_CONNECT_NO_SESSION
 *
 * When the environment variable BUFBROKER_BUS_ADDRESS is set (tests), that
 * D-Bus address is used instead.  Does not check that the daemon runs; the
 * first call does.  The client owns its bus socket.
 *
 * Unless BB_CONNECT_NO_SESSION is set, before its first call the client
 * asks bufbrokerd over the bus for a private connection (D-Bus OpenSession)
 * and then sends its calls there, skipping dbus-daemon; buffers it gets
 * belong to that connection.  An older daemon without sessions is
 * remembered and the bus is used; on other failures that call goes over the
 * bus and the next one asks again.  When the daemon restarts, the next call
 * opens a new connection.
 * Return: 0, -EINVAL, -ENOMEM, -EMFILE, or the -errno of the bus connection
 * (-ENOENT/-ECONNREFUSED when there is no bus).
 */
int bb_client_connect(struct bb_client **out, unsigned int flags);

/**
 * bb_client_free() - close the connection and free the client
 * Buffers obtained from the client stay valid as local dma-bufs (their fds
 * stay open) but can no longer be released through the daemon: free them
 * with bb_buffer_free().  The daemon drops them when the connections close.
 * Pending async calls are cancelled without calling their callbacks.
 * NULL is allowed.
 */
void bb_client_free(struct bb_client *c);

/**
 * bb_client_set_timeout() - timeout of synchronous calls
 * @usec: microseconds; 0 restores BB_DEFAULT_TIMEOUT_USEC
 * Return: 0 or -EINVAL.
 */
int bb_client_set_timeout(struct bb_client *c, uint64_t usec);

/**
 * bb_client_last_error_message() - the daemon's message for the last failed
 * call on @c ("quota of role camera exceeded: ..."), or a description of the
 * local error.  Empty string when the last call succeeded.
 * Return: a string owned by @c, valid until the next call on @c.
 */
const char *bb_client_last_error_message(const struct bb_client *c);

/**
 * bb_client_last_error_name() - the D-Bus error name of the last failed call
 * ("org.bufbroker.Error.QuotaExceeded"), or "" if none.  Owned by @c.
 */
const char *bb_client_last_error_name(const struct bb_client *c);

/* ---- Buffers through the daemon -------------------------------------- */

/**
 * bb_client_alloc() - allocate a buffer for @role (D-Bus Allocate)
 * @role: policy role, e.g. "camera"
 * @size: bytes (> 0)
 * @opts: NULL or options
 * @out: receives the buffer; it owns its fd.  Release with bb_client_release().
 * Return: 0 or -errno (-EACCES, -EDQUOT, -ENOENT no such role, -ENOMEM region
 * full, -EINVAL, ...).
 */
int bb_client_alloc(struct bb_client *c, const char *role, uint64_t size,
		    const struct bb_alloc_options *opts, struct bb_buffer **out);

/* The most buffers bb_client_alloc_set() allocates in one call. */
#define BB_ALLOC_SET_MAX 32

/**
 * bb_client_alloc_set() - allocate @count buffers of @size for @role in one
 * call (D-Bus AllocateSet), e.g. a camera's or a decoder's buffer queue
 * @count: 1 to BB_ALLOC_SET_MAX
 * @opts: NULL or options, applied to each buffer
 * @out: array of @count; on success receives the buffers (each owns its fd;
 * release them with bb_client_release_set() or one by one with
 * bb_client_release()); untouched on failure
 * All or nothing: when one buffer cannot be had (quota, region full), the
 * daemon keeps none and the error message says which one failed.
 * Return: 0 or -errno, as bb_client_alloc().
 */
int bb_client_alloc_set(struct bb_client *c, const char *role, uint64_t size, unsigned int count,
			const struct bb_alloc_options *opts, struct bb_buffer **out);

/**
 * bb_client_alloc_image() - allocate an image (D-Bus AllocateImage)
 * @fourcc: DRM fourcc (DRM_FORMAT_NV12, ...)
 * @width, @height: pixels
 * @modifier: DRM_FORMAT_MOD_LINEAR (or DRM_FORMAT_MOD_INVALID = linear)
 * @opts: NULL or options
 * @out: receives the buffer (owns its fd)
 * @layout: NULL or receives the daemon's plane offsets, strides and total size
 * Return: 0 or -errno; -EOPNOTSUPP for an unsupported fourcc or modifier.
 */
int bb_client_alloc_image(struct bb_client *c, const char *role, uint32_t fourcc,
			  uint32_t width, uint32_t height, uint64_t modifier,
			  const struct bb_alloc_options *opts, struct bb_buffer **out,
			  struct bb_image_layout *layout);

/**
 * bb_client_share() - let another client import buffer @id (D-Bus Share)
 * @id: a buffer id (bb_buffer_get_id())
 * @target: "role:NAME", "uid:N" or a unique bus name ":1.42"
 * @token: receives the NUL-terminated token to pass to the other client
 * @token_len: size of @token; BB_TOKEN_MAX is enough
 * Return: length of the token (without NUL) or -errno (-ERANGE if @token is
 * too small, -ESRCH unknown id, -EACCES sharing not allowed).
 */
int bb_client_share(struct bb_client *c, uint64_t id, const char *target, char *token,
		    size_t token_len);

/**
 * bb_client_import() - import a shared buffer by token (D-Bus Import)
 * @out: receives the buffer; it owns its own fd and has its own id.
 * Return: 0 or -errno (-EBADMSG invalid or used token, -EACCES).
 */
int bb_client_import(struct bb_client *c, const char *token, struct bb_buffer **out);

/**
 * bb_client_release() - release @buf in the daemon and free it locally
 * @buf: from bb_client_alloc*() or bb_client_import() of @c; NULL is allowed
 *
 * @buf (its fd and mapping) is always freed, even when the D-Bus call fails.
 * Memory is returned once every importer has closed its fd as well.
 * Return: 0 or the -errno of the Release call (-ESRCH if the daemon no longer
 * knows the id).  For a direct-mode buffer, same as bb_buffer_free().
 */
int bb_client_release(struct bb_client *c, struct bb_buffer *buf);

/**
 * bb_client_release_set() - release @count buffers in one call (D-Bus ReleaseSet)
 * @bufs: from bb_client_alloc*() or bb_client_import() of @c; NULL entries
 * are skipped
 *
 * Every buffer (its fd and mapping) is always freed, even when the call fails.
 * More than 256 are released in several calls (the daemon's limit per call).
 * Return: 0 or the -errno of the first ReleaseSet call that failed (-ESRCH if
 * the daemon no longer knows one of its ids: that call released none of them,
 * and they and the ones after it go when @c disconnects).
 */
int bb_client_release_set(struct bb_client *c, struct bb_buffer **bufs, unsigned int count);

/**
 * bb_client_release_id() - release a buffer by id without a local handle
 * Return: 0 or -errno.
 */
int bb_client_release_id(struct bb_client *c, uint64_t id);

/* ---- Listing ----------------------------------------------------------- */

/**
 * struct bb_heap_info - one heap (region) as reported by D-Bus Heaps
 * @aliases: NULL-terminated array of alias names
 */
struct bb_heap_info {
	char *name;
	char **aliases;
	uint64_t size;
	uint64_t bytes_used;
	uint64_t peak;
	uint64_t failures;
	uint64_t buffers;
};

/**
 * bb_client_list_heaps() - D-Bus Heaps
 * @out: receives an array the caller frees with bb_heap_info_free()
 * @n_out: receives the number of entries
 * Return: 0 or -errno.
 */
int bb_client_list_heaps(struct bb_client *c, struct bb_heap_info **out, size_t *n_out);

/** bb_heap_info_free() - free an array from bb_client_list_heaps(); NULL ok. */
void bb_heap_info_free(struct bb_heap_info *list, size_t n);

/** struct bb_usage_info - one (client, role) line of D-Bus Usage */
struct bb_usage_info {
	char *client; /**< unique bus name */
	uint32_t uid;
	char *unit;   /**< systemd unit or "" */
	char *role;
	uint64_t bytes;
	uint32_t buffers;
};

/**
 * bb_client_usage() - D-Bus Usage: bytes and buffers per client and role
 * @out: array freed with bb_usage_info_free()
 * Return: 0 or -errno.
 */
int bb_client_usage(struct bb_client *c, struct bb_usage_info **out, size_t *n_out);

/** bb_usage_info_free() - free an array from bb_client_usage(); NULL ok. */
void bb_usage_info_free(struct bb_usage_info *list, size_t n);

/** struct bb_buffer_info - one of the caller's buffers (D-Bus List) */
struct bb_buffer_info {
	uint64_t id;
	char *role;
	char *heap;
	uint64_t size;
	char *name;
	char *state; /**< "owned" or "imported" */
};

/**
 * bb_client_list_buffers() - D-Bus List: the caller's own buffers
 * @out: array freed with bb_buffer_info_free()
 * Return: 0 or -errno.
 */
int bb_client_list_buffers(struct bb_client *c, struct bb_buffer_info **out, size_t *n_out);

/** bb_buffer_info_free() - free an array from bb_client_list_buffers(). */
void bb_buffer_info_free(struct bb_buffer_info *list, size_t n);

/* ---- Event loop integration ------------------------------------------ */

/**
 * bb_client_get_fd() - the fd to poll: an epoll fd covering the bus socket
 * and the private connection to bufbrokerd; the same fd for the life of the
 * client, even when that connection is reopened.
 * Return: a borrowed fd (do not close; valid until bb_client_free()) or -errno.
 */
int bb_client_get_fd(struct bb_client *c);

/**
 * bb_client_get_events() - poll events to wait for on bb_client_get_fd()
 * Return: a poll mask (>= 0; POLLIN) or -errno.  Ask again before every
 * poll: it also updates what the fd waits for inside (output pending on
 * either connection).
 */
int bb_client_get_events(struct bb_client *c);

/**
 * bb_client_get_timeout() - when to call bb_client_dispatch() even without I/O
 * @usec: receives an absolute CLOCK_MONOTONIC time in microseconds (the
 *        earlier of both connections), or UINT64_MAX for none (0 means
 *        "dispatch now")
 * Return: 0 or -errno.
 */
int bb_client_get_timeout(struct bb_client *c, uint64_t *usec);

/**
 * bb_client_get_timeout_ms() - same, as a relative poll() timeout
 * Return: milliseconds to wait (>= 0), INT32_MAX capped, or -1 for "forever".
 * Never fails (a failure yields 0: dispatch at once).
 */
int bb_client_get_timeout_ms(struct bb_client *c);

/**
 * bb_client_dispatch() - process incoming messages without blocking; runs
 * the callbacks of completed async calls.
 * When the private connection to bufbrokerd broke (the daemon restarted),
 * the calls pending on it complete with an error, and the next call opens a
 * new one; that is not an error of dispatch.
 * Return: number of messages processed (>= 0) or -errno (the bus connection
 * is broken: -ECONNRESET, -ENOTCONN).
 */
int bb_client_dispatch(struct bb_client *c);

/**
 * bb_alloc_callback - completion of bb_client_alloc_async()/import_async()
 * @result: 0 or -errno as the synchronous call would return
 * @buf: on success the new buffer, now owned by the callback (release or
 *       free it); NULL on error
 * @layout: for bb_client_alloc_image_async() the layout, else NULL
 *          (borrowed, valid during the callback)
 * The error message is available through bb_client_last_error_message(c)
 * during the callback.
 */
typedef void (*bb_alloc_callback)(struct bb_client *c, int result, struct bb_buffer *buf,
				  const struct bb_image_layout *layout, void *userdata);

/**
 * bb_client_alloc_async() - like bb_client_alloc(), but returns at once;
 * @cb runs from bb_client_dispatch() exactly once, unless the client is
 * freed first.  Exception to "at once": when the client has no private
 * connection yet, it first asks for one (a synchronous call, client timeout;
 * see bb_client_connect()).
 * Return: 0 when the call was sent, or -errno (then @cb is never called).
 */
int bb_client_alloc_async(struct bb_client *c, const char *role, uint64_t size,
			  const struct bb_alloc_options *opts, bb_alloc_callback cb,
			  void *userdata);

/** bb_client_alloc_image_async() - async bb_client_alloc_image(). */
int bb_client_alloc_image_async(struct bb_client *c, const char *role, uint32_t fourcc,
				uint32_t width, uint32_t height, uint64_t modifier,
				const struct bb_alloc_options *opts, bb_alloc_callback cb,
				void *userdata);

/** bb_client_import_async() - async bb_client_import(). */
int bb_client_import_async(struct bb_client *c, const char *token, bb_alloc_callback cb,
			   void *userdata);

/* ---- Buffer helpers ---------------------------------------------------- */

/**
 * bb_buffer_get_fd() - the buffer's dma-buf fd
 * Return: a borrowed fd (do not close; valid until the buffer is freed) or
 * -EINVAL.
 */
int bb_buffer_get_fd(const struct bb_buffer *buf);

/**
 * bb_buffer_dup_fd() - a new fd for the buffer (F_DUPFD_CLOEXEC)
 * Return: an fd the caller owns and must close, or -errno.
 */
int bb_buffer_dup_fd(const struct bb_buffer *buf);

/** bb_buffer_get_size() - size in bytes (0 for NULL). */
uint64_t bb_buffer_get_size(const struct bb_buffer *buf);

/** bb_buffer_get_id() - the daemon's buffer id; 0 for direct-mode buffers. */
uint64_t bb_buffer_get_id(const struct bb_buffer *buf);

/** Flags of bb_buffer_map() and bb_buffer_begin_cpu_access(). */
enum bb_access_flags {
	BB_ACCESS_READ = 1u << 0,
	BB_ACCESS_WRITE = 1u << 1,
	BB_ACCESS_READ_WRITE = BB_ACCESS_READ | BB_ACCESS_WRITE,
};

/**
 * bb_buffer_map() - mmap the whole buffer (MAP_SHARED)
 * @flags: BB_ACCESS_READ and/or BB_ACCESS_WRITE
 * @addr: receives the address; valid until bb_buffer_unmap() or free
 * Mapping again returns the same mapping if it allows @flags, else -EBUSY.
 * Bracket CPU access with bb_buffer_begin_cpu_access()/end.
 * Return: 0 or -errno (-EINVAL, -EBUSY, mmap's -errno).
 */
int bb_buffer_map(struct bb_buffer *buf, unsigned int flags, void **addr);

/** bb_buffer_unmap() - undo bb_buffer_map(). Return: 0, -EINVAL if unmapped. */
int bb_buffer_unmap(struct bb_buffer *buf);

/**
 * bb_buffer_begin_cpu_access() - DMA_BUF_IOCTL_SYNC START (retries EINTR and
 * EAGAIN)
 * @flags: BB_ACCESS_READ and/or BB_ACCESS_WRITE
 * Return: 0 or -errno.
 */
int bb_buffer_begin_cpu_access(struct bb_buffer *buf, unsigned int flags);

/** bb_buffer_end_cpu_access() - DMA_BUF_IOCTL_SYNC END; same @flags as begin. */
int bb_buffer_end_cpu_access(struct bb_buffer *buf, unsigned int flags);

/**
 * bb_buffer_set_name() - DMA_BUF_SET_NAME (shown in /proc/<pid>/fdinfo)
 * @name: at most 31 bytes
 * Return: 0 or -errno (-ENAMETOOLONG, the ioctl's -errno).
 */
int bb_buffer_set_name(struct bb_buffer *buf, const char *name);

/**
 * bb_buffer_free() - unmap, close the fd and free the handle, without telling
 * the daemon (which keeps charging a daemon buffer until the connection
 * closes; use bb_client_release() for those).  NULL is allowed.
 */
void bb_buffer_free(struct bb_buffer *buf);

/* ---- Direct mode (no daemon) ------------------------------------------ */

/**
 * bb_direct_alloc() - allocate straight from /dev/dma_heap
 * @heap_name: a heap name, alias, or NULL/"default" for the default CMA
 *   area.  Resolution: exact node, alias from
 *   /sys/kernel/bufbroker/regions/<region>/{heaps,aliases}, then for default
 *   requests default_cma_region, the default region, and the legacy names
 *   linux,cma, reserved, default-pool.
 * @size: bytes (> 0)
 * @out: receives a buffer that owns its fd (id 0); free with bb_buffer_free()
 * Return: 0 or -errno: -ENOENT no such heap, -EACCES no permission on the
 * node, -ENOMEM region full, -EINVAL.
 */
int bb_direct_alloc(const char *heap_name, uint64_t size, struct bb_buffer **out);

/**
 * bb_direct_alloc_image() - direct-mode image with the layout of
 * bb_image_layout_compute()
 * @layout: NULL or receives the layout
 * Return: 0 or -errno as bb_direct_alloc() and bb_image_layout_compute().
 */
int bb_direct_alloc_image(const char *heap_name, uint32_t fourcc, uint32_t width,
			  uint32_t height, uint64_t modifier, struct bb_buffer **out,
			  struct bb_image_layout *layout);

/**
 * bb_direct_resolve_heap() - the /dev/dma_heap name @heap_name resolves to
 * @out: receives the name; 64 bytes are enough
 * Return: 0 or -errno (-ENOENT, -ERANGE).
 */
int bb_direct_resolve_heap(const char *heap_name, char *out, size_t out_len);

/* ---- Image layout ------------------------------------------------------ */

/**
 * bb_image_layout_compute() - plane layout of a linear image, 64-byte
 * stride alignment, size rounded up to 4096.  The daemon uses the same code.
 * Return: 0, -EINVAL (zero or odd dims where subsampling forbids),
 * -EOVERFLOW, -EOPNOTSUPP (fourcc/modifier).
 */
int bb_image_layout_compute(uint32_t fourcc, uint32_t width, uint32_t height, uint64_t modifier,
			    struct bb_image_layout *out);

/**
 * bb_image_layout_compute_aligned() - same with an explicit stride alignment
 * (power of two, 1..4096; 1 = tight, as V4L2 drivers compute bytesperline).
 */
int bb_image_layout_compute_aligned(uint32_t fourcc, uint32_t width, uint32_t height,
				    uint64_t modifier, uint32_t stride_align,
				    struct bb_image_layout *out);

/**
 * bb_fourcc_from_name() - "NV12", "xrgb8888", "YU12", "XR24" -> fourcc
 * Return: 0 or -EINVAL.
 */
int bb_fourcc_from_name(const char *name, uint32_t *fourcc);

/** bb_fourcc_name() - "NV12" for DRM_FORMAT_NV12; NULL if unsupported. */
const char *bb_fourcc_name(uint32_t fourcc);

/**
 * bb_strerror() - short description of a libbufbroker -errno, naming the
 * daemon error it stands for ("quota exceeded (EDQUOT)"); never NULL.
 */
const char *bb_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* BUFBROKER_H */
