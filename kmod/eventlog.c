// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod RTMR3 event log.
 *
 * Every event is measured into RTMR3 through the backend and then appended
 * here; the log is append-only and its events are immutable, so readers
 * (securityfs, the fuse) walk it without the state lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/kernel.h>

#include "compat.h"
#include "dstack_pod.h"

static struct crypto_shash *dp_sha384_tfm;
static struct crypto_shash *dp_sha512;
static struct dentry *dp_sfs_dir;
static struct dentry *dp_sfs_events;

int dp_crypto_init(void)
{
	int err;

	dp_sha384_tfm = crypto_alloc_shash("sha384", 0, 0);
	if (IS_ERR(dp_sha384_tfm)) {
		err = PTR_ERR(dp_sha384_tfm);
		pr_err("sha384 unavailable: %d\n", err);
		return err;
	}
	dp_sha512 = crypto_alloc_shash("sha512", 0, 0);
	if (IS_ERR(dp_sha512)) {
		err = PTR_ERR(dp_sha512);
		pr_err("sha512 unavailable: %d\n", err);
		crypto_free_shash(dp_sha384_tfm);
		return err;
	}
	return 0;
}

void dp_crypto_exit(void)
{
	crypto_free_shash(dp_sha512);
	crypto_free_shash(dp_sha384_tfm);
}

int dp_sha384(const void *data, size_t len, u8 *out)
{
	return crypto_shash_tfm_digest(dp_sha384_tfm, data, len, out);
}

struct crypto_shash *dp_sha512_tfm(void)
{
	return dp_sha512;
}

/* SHA-512 state after @len bytes of @data (@len a multiple of 128). */
int dp_sha512_midstate(const void *data, size_t len, u8 *state)
{
	SHASH_DESC_ON_STACK(desc, dp_sha512);
	int err;

	desc->tfm = dp_sha512;
	err = crypto_shash_init(desc);
	if (!err)
		err = crypto_shash_update(desc, data, len);
	if (!err)
		err = crypto_shash_export(desc, state);
	shash_desc_zero(desc);
	return err;
}

/**
 * dp_event_alloc() - allocate an event; the caller fills ->payload
 * @name: validated event name
 * @payload_len: validated payload length
 *
 * Return: the event, or NULL without memory.
 */
struct dp_event *dp_event_alloc(const char *name, u32 payload_len)
{
	struct dp_event *ev;

	ev = kzalloc(struct_size(ev, payload, payload_len), GFP_KERNEL_ACCOUNT);
	if (!ev)
		return NULL;
	strscpy(ev->name, name, sizeof(ev->name));
	ev->payload_len = payload_len;
	return ev;
}

/*
 * The digest rule of dstack's runtime events (v1):
 * SHA-384(le32(0x08000001) || ":" || name || ":" || payload).
 */
int dp_event_digest(struct dp_event *ev)
{
	SHASH_DESC_ON_STACK(desc, dp_sha384_tfm);
	__le32 type = cpu_to_le32(DSTACK_POD_EVENT_TYPE);
	int err;

	desc->tfm = dp_sha384_tfm;
	err = crypto_shash_init(desc);
	if (!err)
		err = crypto_shash_update(desc, (u8 *)&type, sizeof(type));
	if (!err)
		err = crypto_shash_update(desc, ":", 1);
	if (!err)
		err = crypto_shash_update(desc, ev->name, strlen(ev->name));
	if (!err)
		err = crypto_shash_update(desc, ":", 1);
	if (!err)
		err = crypto_shash_finup(desc, ev->payload, ev->payload_len,
					 ev->digest);
	shash_desc_zero(desc);
	return err;
}

void dp_log_init(struct dp_log *log, u32 max)
{
	xa_init(&log->events);
	log->count = 0;
	log->max = max;
}

void dp_log_destroy(struct dp_log *log)
{
	struct dp_event *ev;
	unsigned long idx;

	xa_for_each(&log->events, idx, ev)
		kfree(ev);
	xa_destroy(&log->events);
	log->count = 0;
}

u32 dp_log_count(const struct dp_log *log)
{
	/* Events below the count are fully published (dp_log_append()). */
	return smp_load_acquire(&log->count);
}

/**
 * dp_log_append() - measure @ev and append it to @log
 * @log: the log; its owner's lock held
 * @ev: event with its digest computed; owned by the log on success
 * @limit: the log takes events while it holds fewer than @limit
 * @measure: extends the register the log describes with @ev's digest
 * @ctx: passed to @measure
 *
 * The slot is reserved before the extend so that a measured event is always
 * logged; if the extend fails nothing is logged.
 *
 * Return: 0, -ENOSPC when the log is full, or @measure's error.
 */
int dp_log_append(struct dp_log *log, struct dp_event *ev, u32 limit,
		  int (*measure)(void *ctx, const u8 *digest), void *ctx)
{
	u32 idx = log->count;
	int err;

	if (idx >= limit)
		return -ENOSPC;
	err = xa_reserve(&log->events, idx, GFP_KERNEL_ACCOUNT);
	if (err)
		return err;
	err = measure(ctx, ev->digest);
	if (err) {
		xa_release(&log->events, idx);
		return err;
	}
	ev->index = idx;
	/* Storing into a reserved slot allocates nothing and cannot fail. */
	xa_store(&log->events, idx, ev, GFP_KERNEL);
	/* Publish the event before the count; pairs with dp_log_count(). */
	smp_store_release(&log->count, idx + 1);
	return 0;
}

/* Append to the RTMR3 log: dp.lock held; the last slot is the fuse's. */
int dp_rtmr3_append(struct dp_event *ev, bool fuse_slot)
{
	lockdep_assert_held(&dp.lock);
	return dp_log_append(&dp.log, ev,
			     fuse_slot ? dp.log.max : dp.log.max - 1,
			     dp_backend_extend_cb, NULL);
}

/* SHA-384 over the digests of events [0, count), in order. */
int dp_log_events_digest(struct dp_log *log, u32 count, u8 *out)
{
	SHASH_DESC_ON_STACK(desc, dp_sha384_tfm);
	struct dp_event *ev;
	u32 i;
	int err;

	desc->tfm = dp_sha384_tfm;
	err = crypto_shash_init(desc);
	for (i = 0; !err && i < count; i++) {
		ev = xa_load(&log->events, i);
		if (!ev)
			err = -EIO;
		else
			err = crypto_shash_update(desc, ev->digest,
						  sizeof(ev->digest));
	}
	if (!err)
		err = crypto_shash_final(desc, out);
	shash_desc_zero(desc);
	return err;
}

/*
 * securityfs: dstack-pod/runtime_events, one line per event:
 * "<index> <type:8 hex> <digest:96 hex> <name> <payload hex, or - if empty>"
 */
static void *dp_seq_start(struct seq_file *m, loff_t *pos)
{
	if (*pos >= dp_log_count(&dp.log))
		return NULL;
	return xa_load(&dp.log.events, *pos);
}

static void *dp_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return dp_seq_start(m, pos);
}

static void dp_seq_stop(struct seq_file *m, void *v)
{
}

/* Length of dp_event_line()'s output, newline included. */
size_t dp_event_line_len(const struct dp_event *ev)
{
	char idx[16];

	return snprintf(idx, sizeof(idx), "%u", ev->index) + 1 + 8 + 1 +
	       2 * DSTACK_POD_DIGEST_LEN + 1 + strlen(ev->name) + 1 +
	       (ev->payload_len ? 2 * ev->payload_len : 1) + 1;
}

/*
 * One log line, the same for RTMR3 and Pod logs:
 * "<index> <type:8 hex> <digest:96 hex> <name> <payload hex, or - if empty>\n"
 * @buf holds at least dp_event_line_len(@ev) bytes; no NUL is written.
 */
void dp_event_line(const struct dp_event *ev, char *buf)
{
	char head[32];
	size_t n, len = strlen(ev->name);

	n = scnprintf(head, sizeof(head), "%u %08x ", ev->index,
		      DSTACK_POD_EVENT_TYPE);
	memcpy(buf, head, n);
	buf = bin2hex(buf + n, ev->digest, sizeof(ev->digest));
	*buf++ = ' ';
	memcpy(buf, ev->name, len);
	buf += len;
	*buf++ = ' ';
	if (ev->payload_len)
		buf = bin2hex(buf, ev->payload, ev->payload_len);
	else
		*buf++ = '-';
	*buf = '\n';
}

/* The same line as dp_event_line(), through seq_file's own formatting. */
static int dp_seq_show(struct seq_file *m, void *v)
{
	const struct dp_event *ev = v;
	u32 off, n;

	seq_printf(m, "%u %08x %*phN %s ", ev->index, DSTACK_POD_EVENT_TYPE,
		   (int)sizeof(ev->digest), ev->digest, ev->name);
	if (!ev->payload_len)
		seq_putc(m, '-');
	/* %*ph prints at most 64 bytes at a time. */
	for (off = 0; off < ev->payload_len; off += n) {
		n = min_t(u32, ev->payload_len - off, 64);
		seq_printf(m, "%*phN", (int)n, ev->payload + off);
	}
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations dp_seq_ops = {
	.start = dp_seq_start,
	.next = dp_seq_next,
	.stop = dp_seq_stop,
	.show = dp_seq_show,
};

static int dp_events_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &dp_seq_ops);
}

static const struct file_operations dp_events_fops = {
	.owner = THIS_MODULE,
	.open = dp_events_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release,
};

int dp_securityfs_init(void)
{
	dp_sfs_dir = securityfs_create_dir("dstack-pod", NULL);
	if (IS_ERR(dp_sfs_dir))
		return PTR_ERR(dp_sfs_dir);
	dp_sfs_events = securityfs_create_file("runtime_events", 0440,
					       dp_sfs_dir, NULL,
					       &dp_events_fops);
	if (IS_ERR(dp_sfs_events)) {
		securityfs_remove(dp_sfs_dir);
		return PTR_ERR(dp_sfs_events);
	}
	return 0;
}

void dp_securityfs_exit(void)
{
	securityfs_remove(dp_sfs_events);
	securityfs_remove(dp_sfs_dir);
}
