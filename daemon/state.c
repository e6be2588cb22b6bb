// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state file (see state.h). Binary, in host byte order (read back by
 * the same host): flow slot i of a worker owns two records of RECORD_SIZE
 * bytes at offset (2i + copy) * RECORD_SIZE. A record is valid when its
 * magic and checksum are; of a slot's two copies the one with the higher
 * generation is the slot's current record, and the other only tells that
 * its flow left the slot when its key differs. Files of a previous run
 * ("restored", holding the flows not yet claimed, and each worker's) are
 * merged by keeping the newest record of each connection.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "log.h"
#include "sockets.h"
#include "state.h"
#include "worker.h"

#define RESTORED_FILE "restored"
#define RESTORED_TTL_MS (10 * 60 * 1000)
#define RECORD_MAGIC 0x32616f74u /* "tao2" */
#define RECORD_SIZE 512          /* divides a page: no record spans two */
#define READ_PAIRS 64

/* slot_flags */
#define SLOT_DIRTY 1   /* in state_file.dirty */
#define SLOT_WRITTEN 2 /* some record of the slot is on disk */
#define SLOT_LIVE 4    /* the newest one is a live flow (disk_key) */
#define SLOT_COPY1 8   /* the newest one is copy 1 */

/* The 4-tuple, zero-padded so that memcmp orders and compares keys. */
struct rec_key {
	uint8_t family; /* 4 or 6 */
	uint8_t pad;
	uint16_t lport, rport;
	uint8_t pad2[2];
	uint8_t local[16], remote[16];
};

struct rec_dir {
	uint32_t flags; /* 1: have sisn, 2: have disn */
	uint32_t sisn, disn, seq, sne;
};

struct rec_mkt {
	uint8_t sndid, rcvid, alg, maclen;
	uint8_t keylen, prefixlen, family;      /* family 0: any */
	uint8_t from;   /* REC_FROM_*: where the key came from */
	uint32_t flags;
	int32_t ifindex;
	uint8_t peer[16];
	uint8_t secret[TCPAO_MAXKEYLEN];
};

/* rec_mkt.from and record.from. 0: a file of a version that did not
 * say, whose keys are not restored (they might be a user's). */
#define REC_FROM_UNKNOWN 0
#define REC_FROM_FILE 1
#define REC_FROM_RUNTIME 2
#define REC_FROM_SOCKET 3

#define REC_HAS_CURRENT 1 /* mkt[0] */
#define REC_HAS_RNEXT 2   /* mkt[1] */

struct record {
	uint32_t magic;
	uint32_t live; /* 0: the flow is gone */
	uint64_t generation;
	struct rec_key key;
	uint8_t state, fins, has_mkt, pad;
	uint32_t fin_out_seq, fin_in_seq;
	struct rec_dir tx, rx;
	int32_t current, rnext, peer_rnext; /* sndid, rcvid, id; -1: none */
	struct rec_mkt mkt[2];
	/* The flow's entry: REC_FROM_SOCKET with the socket's owner and
	 * SO_COOKIE, or the host policy's (each key says file or runtime). */
	uint8_t from, pad3[3];
	uint32_t uid;
	uint64_t cookie;
};

union record_block {
	struct record r;
	uint8_t bytes[RECORD_SIZE];
};

#define CHECKSUM_AT (RECORD_SIZE - sizeof(uint64_t))
_Static_assert(sizeof(struct record) <= CHECKSUM_AT, "record too large");

struct pool_entry {
	struct record r; /* secrets wiped once loaded */
	bool claimed;
};

static struct {
	pthread_mutex_t lock;
	struct pool_entry *flows; /* sorted by key */
	size_t n;
	char dir[4096];
	uint64_t loaded_ms;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static _Atomic size_t unclaimed;
/* Above every generation on disk once state_load has run. */
static _Atomic uint64_t next_generation = 1;

/* ---- records ----------------------------------------------------------- */

/* FNV-1a: catches a torn record; nobody forges the file (it is 0600). */
static uint64_t checksum(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void seal(union record_block *b)
{
	uint64_t sum;

	b->r.magic = RECORD_MAGIC;
	b->r.generation = atomic_fetch_add(&next_generation, 1);
	sum = checksum(b->bytes, CHECKSUM_AT);
	memcpy(b->bytes + CHECKSUM_AT, &sum, sizeof(sum));
}

static bool sealed(const union record_block *b)
{
	uint64_t sum;

	memcpy(&sum, b->bytes + CHECKSUM_AT, sizeof(sum));
	return b->r.magic == RECORD_MAGIC && b->r.generation &&
	       sum == checksum(b->bytes, CHECKSUM_AT);
}

static void put_key(struct rec_key *r, const struct flow_key *k)
{
	size_t alen = k->local.family == AF_INET6 ? 16 : 4;

	memset(r, 0, sizeof(*r));
	r->family = k->local.family == AF_INET6 ? 6 : 4;
	r->lport = k->lport;
	r->rport = k->rport;
	memcpy(r->local, k->local.bytes, alen);
	memcpy(r->remote, k->remote.bytes, alen);
}

static void get_key(struct flow_key *k, const struct rec_key *r)
{
	memset(k, 0, sizeof(*k));
	k->local.family = k->remote.family = r->family == 6 ? AF_INET6
							    : AF_INET;
	k->lport = r->lport;
	k->rport = r->rport;
	memcpy(k->local.bytes, r->local, 16);
	memcpy(k->remote.bytes, r->remote, 16);
}

static void put_dir(struct rec_dir *r, const struct tcpao_dir *d)
{
	r->flags = (d->have_sisn ? 1u : 0u) | (d->have_disn ? 2u : 0u);
	r->sisn = d->ctx.sisn;
	r->disn = d->ctx.disn;
	r->seq = d->sne.seq;
	r->sne = d->sne.sne;
}

static void get_dir(struct tcpao_dir *d, const struct rec_dir *r)
{
	d->have_sisn = r->flags & 1;
	d->have_disn = r->flags & 2;
	d->ctx.sisn = r->sisn;
	d->ctx.disn = r->disn;
	d->sne.seq = r->seq;
	d->sne.sne = r->sne;
}

static void put_mkt(struct rec_mkt *r, const struct tcpao_mkt *k, uint8_t from)
{
	r->from = from;
	r->sndid = k->sndid;
	r->rcvid = k->rcvid;
	r->alg = (uint8_t)k->alg;
	r->maclen = k->maclen;
	r->keylen = k->keylen;
	r->prefixlen = k->prefixlen;
	r->family = k->peer.family == AF_INET6 ? 6
		    : k->peer.family == AF_INET ? 4 : 0;
	r->flags = k->flags;
	r->ifindex = k->ifindex;
	memcpy(r->peer, k->peer.bytes, sizeof(r->peer));
	memcpy(r->secret, k->key, k->keylen);
}

/* False when the stored key is not one Linux would accept. */
static bool get_mkt(struct tcpao_mkt *k, const struct rec_mkt *r)
{
	memset(k, 0, sizeof(*k));
	if (r->alg >= TCPAO_ALG_COUNT || r->keylen > TCPAO_MAXKEYLEN ||
	    r->maclen > TCPAO_MAX_MACLEN)
		return false;
	k->sndid = r->sndid;
	k->rcvid = r->rcvid;
	k->alg = (enum tcpao_alg)r->alg;
	k->maclen = r->maclen;
	k->keylen = r->keylen;
	k->prefixlen = r->prefixlen;
	k->peer.family = r->family == 6 ? AF_INET6
			 : r->family == 4 ? AF_INET : AF_UNSPEC;
	k->flags = r->flags;
	k->ifindex = r->ifindex;
	memcpy(k->peer.bytes, r->peer, sizeof(r->peer));
	memcpy(k->key, r->secret, r->keylen);
	return tcpao_mkt_check(k) == 0;
}

static int key_index(const struct flow *f, uint64_t serial)
{
	return f->peer ? tcpao_keyring_find_serial(&f->peer->keys, serial) : -1;
}

/* Where key i of the flow's entry came from. */
static uint8_t key_from(const struct policy_peer *p, int i)
{
	if (p->sock_cookie)
		return REC_FROM_SOCKET;
	return tcpao_keyring_tag(&p->keys, i) == POLICY_KEY_RUNTIME ? REC_FROM_RUNTIME : REC_FROM_FILE;
}

static void put_flow(struct record *r, const struct flow *f)
{
	int cur = key_index(f, f->sel.current), nxt = key_index(f, f->sel.rnext);
	const struct tcpao_keyring *keys = f->peer ? &f->peer->keys : NULL;

	if (f->peer && f->peer->sock_cookie) {
		r->from = REC_FROM_SOCKET;
		r->uid = f->peer->uid;
		r->cookie = f->peer->sock_cookie;
	} else {
		r->from = REC_FROM_FILE;
	}
	r->live = 1;
	put_key(&r->key, &f->key);
	r->state = (uint8_t)f->state;
	r->fins = (f->fin_out ? 1u : 0u) | (f->fin_in ? 2u : 0u) |
		  (f->fin_out_acked ? 4u : 0u) | (f->fin_in_acked ? 8u : 0u);
	r->fin_out_seq = f->fin_out_seq;
	r->fin_in_seq = f->fin_in_seq;
	put_dir(&r->tx, &f->tx);
	put_dir(&r->rx, &f->rx);
	r->current = cur >= 0 ? tcpao_keyring_key(keys, (size_t)cur)->sndid : -1;
	r->rnext = nxt >= 0 ? tcpao_keyring_key(keys, (size_t)nxt)->rcvid : -1;
	r->peer_rnext = f->peer_rnext;
	if (cur >= 0) {
		put_mkt(&r->mkt[0], tcpao_keyring_key(keys, (size_t)cur), key_from(f->peer, cur));
		r->has_mkt |= REC_HAS_CURRENT;
	}
	if (nxt >= 0 && nxt != cur) {
		put_mkt(&r->mkt[1], tcpao_keyring_key(keys, (size_t)nxt), key_from(f->peer, nxt));
		r->has_mkt |= REC_HAS_RNEXT;
	}
}

static bool record_usable(const struct record *r)
{
	return (r->key.family == 4 || r->key.family == 6) &&
	       r->state < FLOW_STATE_COUNT;
}

/* ---- secrets at rest: 0600 files in a root-owned 0700 directory -------- */

/* A file that holds secrets: ours and 0600, whatever it was before. */
static int secret_file_check(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_uid != geteuid() || !S_ISREG(st.st_mode))
		return -EPERM;
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600))
		return -errno;
	return 0;
}

/* The state directory: created 0700; one of another owner (or a link, or
 * not a directory) is refused; one of ours with a wider mode is fixed. */
static int state_dir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (lstat(dir, &st)) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "state directory %s: not a directory owned by uid %u: "
			 "refused (it would hold secrets)", dir, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700) {
		log_msg(LOG_WARNING, "state directory %s had mode %04o: set to 0700",
			dir, (unsigned)(st.st_mode & 07777));
		if (chmod(dir, 0700)) {
			snprintf(err, errlen, "chmod %s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

#define MAP_PAGE 4096

/* Records are stored into a shared mapping of the file: the page cache
 * holds them as soon as the copy is done, as after pwrite (no fsync
 * either way: what a restarted daemon reads, not what a power cut
 * keeps), without a system call per record (5-6 per connection and
 * side). The file is sparse: pages get their blocks as slots are first
 * used. Without a mapping, pwrite as before. */
static void map_file(struct state_file *sf)
{
	size_t len = (size_t)sf->slots * 2 * RECORD_SIZE;
	void *map;

	len = (len + MAP_PAGE - 1) / MAP_PAGE * MAP_PAGE;
	sf->backed = calloc(len / MAP_PAGE ? len / MAP_PAGE : 1, 1);
	if (!sf->backed || !len || ftruncate(sf->fd, (off_t)len))
		goto fail;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sf->fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	sf->map = map;
	sf->map_len = len;
	return;
fail:
	free(sf->backed);
	sf->backed = NULL;
	if (ftruncate(sf->fd, 0))
		log_msg(LOG_WARNING, "state file: ftruncate: %m");
}

/* The page of off has its blocks. */
static bool map_backed(struct state_file *sf, off_t off)
{
	size_t page = (size_t)off / MAP_PAGE;

	if (sf->backed[page])
		return true;
	if (fallocate(sf->fd, 0, (off_t)(page * MAP_PAGE), MAP_PAGE))
		return false;
	sf->backed[page] = 1;
	return true;
}

static int write_record(struct state_file *sf, const void *rec, off_t off)
{
	ssize_t n;

	if (sf->map && map_backed(sf, off)) {
		memcpy(sf->map + off, rec, RECORD_SIZE);
		return 0;
	}
	if (sf->map && errno == EOPNOTSUPP) { /* no fallocate here */
		munmap(sf->map, sf->map_len);
		sf->map = NULL;
	}
	n = pwrite(sf->fd, rec, RECORD_SIZE, off);
	if (n != RECORD_SIZE)
		return n < 0 ? -errno : -EIO;
	return 0;
}

int state_file_open(struct state_file *sf, const char *dir,
		    unsigned int index, uint32_t slots, char *err,
		    size_t errlen)
{
	char path[4200];

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	if (!dir)
		return 0;
	sf->slot_flags = calloc(slots, sizeof(*sf->slot_flags));
	sf->disk_key = calloc(slots, sizeof(*sf->disk_key));
	sf->dirty = calloc(slots, sizeof(*sf->dirty));
	if (!sf->slot_flags || !sf->disk_key || !sf->dirty) {
		state_file_close(sf);
		snprintf(err, errlen, "state file: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	sf->slots = slots;
	snprintf(path, sizeof(path), "%s/flows-%u", dir, index);
	sf->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sf->fd < 0 || secret_file_check(sf->fd)) {
		int rc = sf->fd < 0 ? -errno : -EPERM;

		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		state_file_close(sf);
		return rc;
	}
	map_file(sf);
	return 0;
}

void state_file_close(struct state_file *sf)
{
	if (sf->map)
		munmap(sf->map, sf->map_len);
	free(sf->backed);
	if (sf->fd >= 0)
		close(sf->fd);
	free(sf->slot_flags);
	free(sf->disk_key);
	free(sf->dirty);
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
}

void state_mark(struct state_file *sf, uint32_t slot)
{
	if (sf->fd < 0 || slot >= sf->slots ||
	    (sf->slot_flags[slot] & SLOT_DIRTY))
		return;
	sf->slot_flags[slot] |= SLOT_DIRTY;
	sf->dirty[sf->ndirty++] = slot;
}

/* The flow in the slot, or a record saying that the one on disk is gone;
 * into the copy that does not hold the slot's newest record. */
static int write_slot(struct state_file *sf, uint32_t slot,
		      const struct flow *f)
{
	uint8_t *flags = &sf->slot_flags[slot];
	union record_block b;
	unsigned int copy;
	int rc;

	if (!f->in_use && !(*flags & SLOT_LIVE))
		return 0;
	memset(&b, 0, sizeof(b));
	if (f->in_use)
		put_flow(&b.r, f);
	else
		put_key(&b.r.key, &sf->disk_key[slot]);
	seal(&b);
	copy = (*flags & SLOT_WRITTEN) && !(*flags & SLOT_COPY1) ? 1 : 0;
	rc = write_record(sf, b.bytes, ((off_t)slot * 2 + copy) * RECORD_SIZE);
	explicit_bzero(&b, sizeof(b));
	if (rc)
		return rc;
	*flags = (uint8_t)((*flags & SLOT_DIRTY) | SLOT_WRITTEN |
			   (copy ? SLOT_COPY1 : 0) | (f->in_use ? SLOT_LIVE : 0));
	if (f->in_use)
		sf->disk_key[slot] = f->key;
	return 0;
}

int state_save(struct worker *w)
{
	struct state_file *sf = &w->state;
	int rc = 0;

	while (sf->ndirty) {
		uint32_t slot = sf->dirty[sf->ndirty - 1];

		rc = write_slot(sf, slot, &w->flows.flows[slot]);
		if (rc) {
			log_msg(LOG_ERR, "writing state of worker %u: %s",
				w->index, strerror(-rc));
			break;
		}
		sf->slot_flags[slot] &= (uint8_t)~SLOT_DIRTY;
		sf->ndirty--;
	}
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

/* Every record read, before the newest of each connection is chosen. */
struct candidates {
	struct pool_entry *v;
	size_t n, cap;
};

static int candidate_add(struct candidates *c, const struct record *r,
			 bool live)
{
	if (!record_usable(r))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct pool_entry *p = calloc(cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		if (c->n)
			memcpy(p, c->v, c->n * sizeof(*p));
		if (c->v)
			explicit_bzero(c->v, c->n * sizeof(*p));
		free(c->v);
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n].r = *r;
	c->v[c->n].r.live = live;
	c->v[c->n].claimed = false;
	c->n++;
	return 0;
}

/* A slot's two copies: the newest valid one as it is; the other one only
 * says that its flow left the slot (if it is another flow). */
static int add_slot(struct candidates *c, const union record_block *a,
		    const union record_block *b)
{
	bool va = sealed(a), vb = sealed(b);
	const union record_block *newest, *older;
	int rc;

	if (!va && !vb)
		return 0;
	if (va != vb)
		return candidate_add(c, va ? &a->r : &b->r, (va ? a : b)->r.live);
	newest = a->r.generation > b->r.generation ? a : b;
	older = newest == a ? b : a;
	rc = candidate_add(c, &newest->r, newest->r.live);
	if (!rc && memcmp(&older->r.key, &newest->r.key, sizeof(older->r.key)))
		rc = candidate_add(c, &older->r, false);
	return rc;
}

static int load_file(const char *path, struct candidates *c)
{
	size_t bufsize = READ_PAIRS * 2 * RECORD_SIZE;
	union record_block *buf = malloc(bufsize);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	ssize_t n;

	if (fd < 0 || !buf) {
		rc = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, bufsize)) > 0) {
		/* A short read ends on a whole record (page cache). */
		size_t pairs = (size_t)n / (2 * RECORD_SIZE);

		if ((size_t)n % (2 * RECORD_SIZE) >= RECORD_SIZE) {
			memset(&buf[2 * pairs + 1], 0, RECORD_SIZE);
			pairs++;
		}
		for (size_t i = 0; i < pairs && !rc; i++)
			rc = add_slot(c, &buf[2 * i], &buf[2 * i + 1]);
		if (rc || (size_t)n < bufsize)
			break;
	}
	if (n < 0 && !rc)
		rc = -errno;
out:
	if (buf) {
		explicit_bzero(buf, bufsize);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* By connection, newest first. */
static int by_key_newest(const void *a, const void *b)
{
	const struct record *x = &((const struct pool_entry *)a)->r;
	const struct record *y = &((const struct pool_entry *)b)->r;
	int d = memcmp(&x->key, &y->key, sizeof(x->key));

	if (d)
		return d;
	return x->generation < y->generation ? 1
	       : x->generation > y->generation ? -1 : 0;
}

/* Keeps the newest record of each connection when it is live; sorted. */
static void choose_newest(struct candidates *c)
{
	size_t out = 0;

	if (!c->n)
		return;
	qsort(c->v, c->n, sizeof(*c->v), by_key_newest);
	for (size_t i = 0; i < c->n; i++) {
		bool first = !i || memcmp(&c->v[i].r.key, &c->v[i - 1].r.key,
					  sizeof(c->v[i].r.key));
		uint64_t gen = c->v[i].r.generation;

		if (gen >= next_generation)
			next_generation = gen + 1;
		if (first && c->v[i].r.live)
			c->v[out++] = c->v[i];
	}
	explicit_bzero(c->v + out, (c->n - out) * sizeof(*c->v));
	c->n = out;
}

/* A key a restored flow used that the policy lacks joins the policy as
 * what it was: a runtime or file key of the host policy, never current
 * (the flow names its keys itself), or a socket's key only as that
 * socket's, while the socket lives. A socket's key never becomes host
 * policy. */
static void restore_key(struct policy *policy, const struct record *r,
			const struct flow_key *key, const struct tcpao_mkt *k,
			uint8_t from)
{
	char err[160] = "";
	int rc;

	switch (r->from == REC_FROM_SOCKET ? REC_FROM_SOCKET : from) {
	case REC_FROM_SOCKET:
		rc = sockets_restore(policy, r->cookie, r->uid, key, k);
		if (rc == -ESRCH)
			return; /* the socket is gone: so is its key */
		snprintf(err, sizeof(err), "%s", strerror(-rc));
		break;
	case REC_FROM_FILE:
	case REC_FROM_RUNTIME:
		rc = policy_add_key_from(policy, NULL, k, from == REC_FROM_FILE ?
					 POLICY_FROM_FILE : POLICY_FROM_RUNTIME,
					 false, false, err, sizeof(err));
		if (rc == -EEXIST)
			return; /* the policy has it (or a key of the same ids) */
		break;
	default:
		rc = -EPERM;
		snprintf(err, sizeof(err), "the state file does not say whose it is");
	}
	if (rc)
		log_msg(LOG_WARNING, "state: key %u/%u not restored: %s",
			k->sndid, k->rcvid, err);
}

static void restore_keys(struct policy *policy, const struct record *r)
{
	struct flow_key key;
	struct tcpao_mkt k;

	get_key(&key, &r->key);
	for (int i = 0; i < 2; i++) {
		if (!(r->has_mkt & (i ? REC_HAS_RNEXT : REC_HAS_CURRENT)))
			continue;
		if (get_mkt(&k, &r->mkt[i]))
			restore_key(policy, r, &key, &k, r->mkt[i].from);
		tcpao_mkt_wipe(&k);
	}
}

/* The pool's records (keys included), through a temporary file and a
 * rename; no file when the pool is empty. */
static int write_restored(const char *dir)
{
	char path[4096];
	struct atomic_file f;
	union record_block b;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, RESTORED_FILE);
	if (!pool.n)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	rc = atomic_file_open(&f, path, 0600);
	if (rc)
		return rc;
	rc = secret_file_check(f.fd);
	for (size_t i = 0; i < pool.n && !rc; i++) {
		uint64_t sum;
		ssize_t n;

		/* Keeps its generation: a newer record elsewhere wins. */
		memset(&b, 0, sizeof(b));
		b.r = pool.flows[i].r;
		sum = checksum(b.bytes, CHECKSUM_AT);
		memcpy(b.bytes + CHECKSUM_AT, &sum, sizeof(sum));
		n = pwrite(f.fd, b.bytes, RECORD_SIZE,
			   (off_t)i * 2 * RECORD_SIZE);
		if (n != RECORD_SIZE)
			rc = n < 0 ? -errno : -EIO;
	}
	explicit_bzero(&b, sizeof(b));
	return atomic_file_end(&f, rc);
}

static bool is_state_file(const char *name)
{
	return !strcmp(name, RESTORED_FILE) || !strncmp(name, "flows-", 6);
}

static int read_dir(const char *dir, struct candidates *c, char *err,
		    size_t errlen)
{
	char path[4200];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc;

	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "state directory %s: %s", dir,
			 strerror(-rc));
		return rc;
	}
	while ((de = readdir(d))) {
		if (!is_state_file(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rc = load_file(path, c);
		if (rc == -ENOMEM) {
			closedir(d);
			snprintf(err, errlen, "reading state: %s",
				 strerror(ENOMEM));
			return rc;
		}
		if (rc < 0)
			log_msg(LOG_WARNING, "state: ignoring %s: %s", path,
				strerror(-rc));
	}
	closedir(d);
	return 0;
}

static void remove_worker_files(const char *dir)
{
	char path[4200];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "flows-", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

int state_load(const char *dir, struct policy *policy, char *err,
	       size_t errlen)
{
	struct candidates c = { 0 };
	int rc;

	rc = state_dir_check(dir, err, errlen);
	if (rc)
		return rc;
	if (strlen(dir) >= sizeof(pool.dir)) {
		snprintf(err, errlen, "state directory name too long");
		return -ENAMETOOLONG;
	}
	memcpy(pool.dir, dir, strlen(dir) + 1);
	rc = read_dir(dir, &c, err, errlen);
	if (rc) {
		explicit_bzero(c.v, c.n * sizeof(*c.v));
		free(c.v);
		return rc;
	}
	choose_newest(&c);
	pool.flows = c.v;
	pool.n = c.n;
	for (size_t i = 0; i < pool.n; i++)
		restore_keys(policy, &pool.flows[i].r);
	/* One file with everything, then the per-worker files can go. */
	rc = write_restored(dir);
	for (size_t i = 0; i < pool.n; i++)
		explicit_bzero(pool.flows[i].r.mkt, sizeof(pool.flows[i].r.mkt));
	if (rc) {
		snprintf(err, errlen, "writing %s/%s: %s", dir, RESTORED_FILE,
			 strerror(-rc));
		return rc;
	}
	remove_worker_files(dir);
	unclaimed = pool.n;
	return (int)pool.n;
}

static uint64_t serial_of(const struct policy_peer *p,
			  const struct tcpao_addr *remote, int l3index, int id,
			  bool snd)
{
	int i;

	if (id < 0)
		return 0;
	i = snd ? tcpao_keyring_find_sndid(&p->keys, remote, l3index, (uint8_t)id)
		: tcpao_keyring_find_rcvid(&p->keys, remote, l3index, (uint8_t)id);
	return i < 0 ? 0 : tcpao_keyring_serial(&p->keys, i);
}

static int by_key(const void *a, const void *b)
{
	return memcmp(a, &((const struct pool_entry *)b)->r.key,
		      sizeof(struct rec_key));
}

bool state_claim(const struct flow_key *key, const struct policy *policy,
		 struct flow *f, uint64_t now_ms)
{
	const struct policy_peer *p;
	struct pool_entry *e;
	struct tcpao_keysel sel;
	struct record s = { 0 };
	struct rec_key want;

	if (!unclaimed)
		return false;
	put_key(&want, key);
	pthread_mutex_lock(&pool.lock);
	e = pool.n ? bsearch(&want, pool.flows, pool.n, sizeof(*pool.flows),
			     by_key)
		   : NULL;
	if (e && !e->claimed) {
		s = e->r;
		e->claimed = true;
		unclaimed--;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	if (!e)
		return false;
	p = policy_match(policy, &key->local, key->lport, &key->remote,
			 key->rport);
	/* A socket's flow goes on with that socket's keys or not at all. */
	if (!p || (s.from == REC_FROM_SOCKET && p->sock_cookie != s.cookie) ||
	    (s.from != REC_FROM_SOCKET && p->sock_cookie))
		return false;
	sel.current = serial_of(p, &key->remote, f->l3index, s.current, true);
	sel.rnext = serial_of(p, &key->remote, f->l3index, s.rnext, false);
	flow_start(f, p, &sel, (enum flow_state)s.state, now_ms);
	get_dir(&f->tx, &s.tx);
	get_dir(&f->rx, &s.rx);
	f->fin_out = s.fins & 1;
	f->fin_in = s.fins & 2;
	f->fin_out_acked = s.fins & 4;
	f->fin_in_acked = s.fins & 8;
	f->fin_out_seq = s.fin_out_seq;
	f->fin_in_seq = s.fin_in_seq;
	f->peer_rnext = s.peer_rnext;
	log_msg(LOG_INFO, "restored flow port %u -> port %u (SNE %u/%u)",
		key->lport, key->rport, s.tx.sne, s.rx.sne);
	return true;
}

/* The restored file keeps claimed flows too (their workers' records are
 * newer), so that it never misses one whose new record is not written
 * yet; it goes as a whole once the restored flows expire. */
void state_expire(uint64_t now_ms)
{
	pthread_mutex_lock(&pool.lock);
	if (!pool.loaded_ms)
		pool.loaded_ms = now_ms;
	if (pool.n && now_ms - pool.loaded_ms > RESTORED_TTL_MS) {
		explicit_bzero(pool.flows, pool.n * sizeof(*pool.flows));
		free(pool.flows);
		pool.flows = NULL;
		pool.n = 0;
		unclaimed = 0;
		if (pool.dir[0])
			write_restored(pool.dir);
	}
	pthread_mutex_unlock(&pool.lock);
}

void state_free(void)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.flows)
		explicit_bzero(pool.flows, pool.n * sizeof(*pool.flows));
	free(pool.flows);
	pool.flows = NULL;
	pool.n = 0;
	unclaimed = 0;
	pthread_mutex_unlock(&pool.lock);
}
