// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state file (see state.h). Text, one "flow" line per flow followed by
 * "key" lines for the keys it uses:
 *
 *   flow STAMP FAMILY LOCAL LPORT REMOTE RPORT STATE FINS FINOUT FININ
 *        TXFLAGS TXSISN TXDISN TXSEQ TXSNE RXFLAGS RXSISN RXDISN RXSEQ RXSNE
 *        CURRENT RNEXT PEERRNEXT
 *   key SNDID RCVID ALG MACLEN FLAGS IFINDEX PEER/LEN HEXSECRET
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "worker.h"

#define RESTORED_FILE "restored"
#define RESTORED_TTL_MS (10 * 60 * 1000)

struct saved_dir {
	unsigned int flags; /* 1: have sisn, 2: have disn */
	uint32_t sisn, disn, seq, sne;
};

struct saved_flow {
	uint64_t stamp;
	struct flow_key key;
	enum flow_state state;
	unsigned int fins;
	uint32_t fin_out_seq, fin_in_seq;
	struct saved_dir tx, rx;
	int current, rnext, peer_rnext; /* sndid, rcvid, id; -1: none */
	bool claimed;
};

static struct {
	pthread_mutex_t lock;
	struct saved_flow *flows;
	size_t n, cap;
	char dir[4096];
	uint64_t loaded_ms;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static _Atomic size_t unclaimed;

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- writing ----------------------------------------------------------- */

static void put_dir(FILE *out, const struct tcpao_dir *d)
{
	fprintf(out, " %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32,
		(d->have_sisn ? 1u : 0u) | (d->have_disn ? 2u : 0u),
		d->ctx.sisn, d->ctx.disn, d->sne.seq, d->sne.sne);
}

static void put_key(FILE *out, const struct tcpao_mkt *k)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(k->peer.family == AF_INET6 ? AF_INET6 : AF_INET,
		  k->peer.bytes, addr, sizeof(addr));
	fprintf(out, "key %u %u %d %u %u %d %s/%u ", k->sndid, k->rcvid,
		(int)k->alg, k->maclen, k->flags, k->ifindex, addr,
		k->prefixlen);
	for (unsigned int i = 0; i < k->keylen; i++)
		fprintf(out, "%02x", k->key[i]);
	fprintf(out, "%s\n", k->keylen ? "" : "-");
}

static int key_index(const struct flow *f, uint64_t serial)
{
	return f->peer ? tcpao_keyring_find_serial(&f->peer->keys, serial) : -1;
}

static void put_flow(FILE *out, const struct flow *f, uint64_t stamp)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	int cur = key_index(f, f->sel.current), nxt = key_index(f, f->sel.rnext);
	const struct tcpao_mkt *keys = f->peer ? f->peer->keys.keys : NULL;

	inet_ntop(f->key.local.family, f->key.local.bytes, l, sizeof(l));
	inet_ntop(f->key.remote.family, f->key.remote.bytes, r, sizeof(r));
	fprintf(out, "flow %" PRIu64 " %d %s %u %s %u %d %u %" PRIu32
		" %" PRIu32, stamp, f->key.local.family == AF_INET6 ? 6 : 4,
		l, f->key.lport, r, f->key.rport, (int)f->state,
		(f->fin_out ? 1u : 0u) | (f->fin_in ? 2u : 0u) |
			(f->fin_out_acked ? 4u : 0u) |
			(f->fin_in_acked ? 8u : 0u),
		f->fin_out_seq, f->fin_in_seq);
	put_dir(out, &f->tx);
	put_dir(out, &f->rx);
	fprintf(out, " %d %d %d\n", cur >= 0 ? keys[cur].sndid : -1,
		nxt >= 0 ? keys[nxt].rcvid : -1, f->peer_rnext);
	if (cur >= 0)
		put_key(out, &keys[cur]);
	if (nxt >= 0 && nxt != cur)
		put_key(out, &keys[nxt]);
}

static void put_saved_dir(FILE *out, const struct saved_dir *d)
{
	fprintf(out, " %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32,
		d->flags, d->sisn, d->disn, d->seq, d->sne);
}

static void put_saved(FILE *out, const struct saved_flow *s)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	inet_ntop(s->key.local.family, s->key.local.bytes, l, sizeof(l));
	inet_ntop(s->key.remote.family, s->key.remote.bytes, r, sizeof(r));
	fprintf(out, "flow %" PRIu64 " %d %s %u %s %u %d %u %" PRIu32
		" %" PRIu32, s->stamp, s->key.local.family == AF_INET6 ? 6 : 4,
		l, s->key.lport, r, s->key.rport, (int)s->state, s->fins,
		s->fin_out_seq, s->fin_in_seq);
	put_saved_dir(out, &s->tx);
	put_saved_dir(out, &s->rx);
	fprintf(out, " %d %d %d\n", s->current, s->rnext, s->peer_rnext);
}

/* Writes path through a temporary file: fsync, then rename. */
static int write_atomically(const char *dir, const char *name,
			    void (*fill)(FILE *out, void *arg), void *arg)
{
	char path[4200], tmp[4200];
	FILE *out;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	out = fdopen(fd, "w");
	if (!out) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	fprintf(out, "tcpaod-state 1\n");
	fill(out, arg);
	if (fflush(out) || fsync(fd))
		rc = -errno;
	if (fclose(out) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static void fill_worker(FILE *out, void *arg)
{
	const struct worker *w = arg;
	uint64_t stamp = realtime_ns();

	for (uint32_t i = 0; i < w->flows.cap; i++)
		if (w->flows.flows[i].in_use)
			put_flow(out, &w->flows.flows[i], stamp);
}

int state_save(struct worker *w)
{
	char name[32];
	int rc;

	if (!w->state_dir)
		return 0;
	snprintf(name, sizeof(name), "flows-%u", w->index);
	rc = write_atomically(w->state_dir, name, fill_worker, w);
	if (rc)
		log_msg(LOG_ERR, "writing %s/%s: %s", w->state_dir, name,
			strerror(-rc));
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

static bool parse_addr(int fam, const char *text, struct tcpao_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = fam == 6 ? AF_INET6 : AF_INET;
	return inet_pton(a->family, text, a->bytes) == 1;
}

static bool parse_flow(const char *line, struct saved_flow *s)
{
	char l[64], r[64];
	unsigned int lport, rport;
	int fam, state, n = 0;

	memset(s, 0, sizeof(*s));
	if (sscanf(line,
		   "flow %" SCNu64 " %d %63s %u %63s %u %d %u %" SCNu32
		   " %" SCNu32 " %u %" SCNu32 " %" SCNu32 " %" SCNu32
		   " %" SCNu32 " %u %" SCNu32 " %" SCNu32 " %" SCNu32
		   " %" SCNu32 " %d %d %d%n",
		   &s->stamp, &fam, l, &lport, r, &rport, &state, &s->fins,
		   &s->fin_out_seq, &s->fin_in_seq, &s->tx.flags, &s->tx.sisn,
		   &s->tx.disn, &s->tx.seq, &s->tx.sne, &s->rx.flags,
		   &s->rx.sisn, &s->rx.disn, &s->rx.seq, &s->rx.sne,
		   &s->current, &s->rnext, &s->peer_rnext, &n) != 23 || !n)
		return false;
	if (!parse_addr(fam, l, &s->key.local) ||
	    !parse_addr(fam, r, &s->key.remote) || lport > 65535 ||
	    rport > 65535 || state < 0 || state >= FLOW_STATE_COUNT)
		return false;
	s->key.lport = (uint16_t)lport;
	s->key.rport = (uint16_t)rport;
	s->state = (enum flow_state)state;
	return true;
}

static bool parse_key(const char *line, struct tcpao_mkt *k)
{
	char prefix[80], hex[2 * TCPAO_MAXKEYLEN + 2];
	unsigned int snd, rcv, maclen, flags;
	int alg, ifindex;
	size_t len;

	memset(k, 0, sizeof(*k));
	if (sscanf(line, "key %u %u %d %u %u %d %79s %161s", &snd, &rcv, &alg,
		   &maclen, &flags, &ifindex, prefix, hex) != 8)
		return false;
	if (snd > 255 || rcv > 255 || alg < 0 || alg >= TCPAO_ALG_COUNT ||
	    maclen > TCPAO_MAX_MACLEN)
		return false;
	k->sndid = (uint8_t)snd;
	k->rcvid = (uint8_t)rcv;
	k->alg = (enum tcpao_alg)alg;
	k->maclen = (uint8_t)maclen;
	k->flags = flags;
	k->ifindex = ifindex;
	if (tcpao_addr_parse(prefix, &k->peer, &k->prefixlen))
		return false;
	len = strcmp(hex, "-") ? strlen(hex) : 0;
	if (len % 2 || len / 2 > TCPAO_MAXKEYLEN)
		return false;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return false;
		k->key[i] = (uint8_t)b;
	}
	k->keylen = (uint8_t)(len / 2);
	explicit_bzero(hex, sizeof(hex));
	return tcpao_mkt_check(k) == 0;
}

static bool same_key(const struct flow_key *a, const struct flow_key *b)
{
	return a->lport == b->lport && a->rport == b->rport &&
	       tcpao_addr_equal(&a->local, &b->local) &&
	       tcpao_addr_equal(&a->remote, &b->remote);
}

/* Keeps the newest record of each flow. */
static int pool_add(const struct saved_flow *s)
{
	for (size_t i = 0; i < pool.n; i++) {
		if (!same_key(&pool.flows[i].key, &s->key))
			continue;
		if (s->stamp > pool.flows[i].stamp)
			pool.flows[i] = *s;
		return 0;
	}
	if (pool.n == pool.cap) {
		size_t cap = pool.cap ? pool.cap * 2 : 64;
		struct saved_flow *p = realloc(pool.flows, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		pool.flows = p;
		pool.cap = cap;
	}
	pool.flows[pool.n++] = *s;
	return 0;
}

/* A key a restored flow used that the policy lacks joins the policy. */
static void restore_key(struct policy *policy, const struct saved_flow *s,
			const struct tcpao_mkt *k)
{
	const struct policy_peer *p = policy_match(
		policy, &s->key.local, s->key.lport, &s->key.remote,
		s->key.rport);
	char err[160];
	int rc;

	if (p) {
		for (size_t i = 0; i < p->keys.n; i++) {
			const struct tcpao_mkt *have = &p->keys.keys[i];

			if (have->sndid == k->sndid && have->rcvid == k->rcvid)
				return;
		}
		rc = policy_add_key_to(policy, &p->scope, k, false, false, err,
				       sizeof(err));
	} else {
		rc = policy_add_key(policy, k, err, sizeof(err));
	}
	if (rc)
		log_msg(LOG_WARNING, "state: cannot restore key %u/%u: %s",
			k->sndid, k->rcvid, err);
}

static int load_file(const char *path, struct policy *policy)
{
	FILE *in = fopen(path, "re");
	char line[1024];
	struct saved_flow s;
	bool have = false;
	int n = 0;

	if (!in)
		return -errno;
	if (!fgets(line, sizeof(line), in) ||
	    strcmp(line, "tcpaod-state 1\n")) {
		fclose(in);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), in)) {
		struct tcpao_mkt k;

		if (!strncmp(line, "flow ", 5)) {
			have = parse_flow(line, &s);
			if (have && pool_add(&s) == 0)
				n++;
		} else if (!strncmp(line, "key ", 4) && have &&
			   parse_key(line, &k)) {
			restore_key(policy, &s, &k);
			tcpao_mkt_wipe(&k);
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(in);
	return n;
}

static void fill_pool(FILE *out, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < pool.n; i++)
		if (!pool.flows[i].claimed)
			put_saved(out, &pool.flows[i]);
}

static bool is_state_file(const char *name)
{
	return !strcmp(name, RESTORED_FILE) || !strncmp(name, "flows-", 6);
}

int state_load(const char *dir, struct policy *policy, char *err,
	       size_t errlen)
{
	char path[4200];
	struct dirent *de;
	DIR *d;
	int rc;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "state directory %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	if (strlen(dir) >= sizeof(pool.dir)) {
		snprintf(err, errlen, "state directory name too long");
		return -ENAMETOOLONG;
	}
	memcpy(pool.dir, dir, strlen(dir) + 1);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "state directory %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!is_state_file(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rc = load_file(path, policy);
		if (rc < 0)
			log_msg(LOG_WARNING, "state: ignoring %s: %s", path,
				strerror(-rc));
	}
	closedir(d);
	/* One file with everything, then the per-worker files can go. */
	rc = write_atomically(dir, RESTORED_FILE, fill_pool, NULL);
	if (rc) {
		snprintf(err, errlen, "writing %s/%s: %s", dir, RESTORED_FILE,
			 strerror(-rc));
		return rc;
	}
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "flows-", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	unclaimed = pool.n;
	return (int)pool.n;
}

static void restore_dir(struct tcpao_dir *d, const struct saved_dir *s)
{
	d->have_sisn = s->flags & 1;
	d->have_disn = s->flags & 2;
	d->ctx.sisn = s->sisn;
	d->ctx.disn = s->disn;
	d->sne.seq = s->seq;
	d->sne.sne = s->sne;
}

static uint64_t serial_of(const struct policy_peer *p,
			  const struct tcpao_addr *remote, int id, bool snd)
{
	int i;

	if (id < 0)
		return 0;
	i = snd ? tcpao_keyring_find_sndid(&p->keys, remote, 0, (uint8_t)id)
		: tcpao_keyring_find_rcvid(&p->keys, remote, 0, (uint8_t)id);
	return i < 0 ? 0 : p->keys.serials[i];
}

bool state_claim(const struct flow_key *key, const struct policy *policy,
		 struct flow *f, uint64_t now_ms)
{
	const struct policy_peer *p;
	struct tcpao_keysel sel;
	struct saved_flow s = { 0 };
	bool found = false;

	if (!unclaimed)
		return false;
	pthread_mutex_lock(&pool.lock);
	for (size_t i = 0; i < pool.n && !found; i++) {
		if (pool.flows[i].claimed || !same_key(&pool.flows[i].key, key))
			continue;
		s = pool.flows[i];
		pool.flows[i].claimed = true;
		unclaimed--;
		found = true;
	}
	pthread_mutex_unlock(&pool.lock);
	if (!found)
		return false;
	p = policy_match(policy, &key->local, key->lport, &key->remote,
			 key->rport);
	if (!p)
		return false;
	sel.current = serial_of(p, &key->remote, s.current, true);
	sel.rnext = serial_of(p, &key->remote, s.rnext, false);
	flow_start(f, p, &sel, s.state, now_ms);
	restore_dir(&f->tx, &s.tx);
	restore_dir(&f->rx, &s.rx);
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

void state_expire(uint64_t now_ms)
{
	bool changed = false;

	pthread_mutex_lock(&pool.lock);
	if (!pool.loaded_ms)
		pool.loaded_ms = now_ms;
	for (size_t i = 0; i < pool.n; i++) {
		if (pool.flows[i].claimed ||
		    now_ms - pool.loaded_ms > RESTORED_TTL_MS) {
			if (!pool.flows[i].claimed)
				unclaimed--;
			pool.flows[i--] = pool.flows[--pool.n];
			changed = true;
		}
	}
	if (changed && pool.dir[0])
		write_atomically(pool.dir, RESTORED_FILE, fill_pool, NULL);
	pthread_mutex_unlock(&pool.lock);
}

void state_free(void)
{
	pthread_mutex_lock(&pool.lock);
	free(pool.flows);
	pool.flows = NULL;
	pool.n = pool.cap = 0;
	pthread_mutex_unlock(&pool.lock);
}
