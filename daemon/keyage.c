// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key-ages file (keyage.h): a magic, the record size and the count,
 * then one fixed-size record per host entry that has a current key;
 * replaced whole (atomicfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "keyage.h"

#define KEYAGE_FILE "key-ages"
static const char magic[8] = "TCPAOKA1";

struct age_record {
	struct policy_scope scope; /* zero-filled, then set field by field */
	uint8_t sndid, rcvid;
	int64_t since;
};

static struct {
	struct age_record *recs; /* what was written last */
	size_t n;
} last;

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* The record of a host entry with a current key, or false. */
static bool record_of(const struct policy_peer *p, struct age_record *r)
{
	int k = policy_current_key(p);

	if (p->sock_cookie || k < 0 || !p->current_since)
		return false;
	memset(r, 0, sizeof(*r));
	r->scope.peer.family = p->scope.peer.family;
	memcpy(r->scope.peer.bytes, p->scope.peer.bytes, tcpao_addr_len(&p->scope.peer));
	r->scope.peer_len = p->scope.peer_len;
	r->scope.local.family = p->scope.local.family;
	if (p->scope.local.family != AF_UNSPEC)
		memcpy(r->scope.local.bytes, p->scope.local.bytes,
		       tcpao_addr_len(&p->scope.local));
	r->scope.local_len = p->scope.local_len;
	r->scope.local_port = p->scope.local_port;
	r->scope.remote_port = p->scope.remote_port;
	r->sndid = (*tcpao_keyring_key(&p->keys, k)).sndid;
	r->rcvid = (*tcpao_keyring_key(&p->keys, k)).rcvid;
	r->since = p->current_since;
	return true;
}

static size_t records_of(const struct policy *policy, struct age_record *out)
{
	size_t n = 0;

	for (size_t i = 0; i < policy->n; i++)
		if (policy_entry(policy, i))
			n += record_of(policy_entry(policy, i), &out[n]);
	return n;
}

static int write_file(const char *dir, const struct age_record *r, size_t n)
{
	uint64_t count = n, size = sizeof(*r);
	struct atomic_file f;
	char path[4096];
	int rc;

	path_of(path, sizeof(path), dir, KEYAGE_FILE);
	rc = atomic_file_open(&f, path, 0600);
	if (rc)
		return rc;
	if (write(f.fd, magic, sizeof(magic)) != sizeof(magic) ||
	    write(f.fd, &size, sizeof(size)) != sizeof(size) ||
	    write(f.fd, &count, sizeof(count)) != sizeof(count) ||
	    (n && write(f.fd, r, n * sizeof(*r)) != (ssize_t)(n * sizeof(*r))))
		rc = errno ? -errno : -EIO;
	return atomic_file_end(&f, rc);
}

int keyage_save(const char *dir, const struct policy *policy)
{
	struct age_record *r = calloc(policy->n + 1, sizeof(*r));
	size_t n;
	int rc;

	if (!r)
		return -ENOMEM;
	n = records_of(policy, r);
	if (last.recs && n == last.n && !memcmp(r, last.recs, n * sizeof(*r))) {
		free(r);
		return 0;
	}
	rc = write_file(dir, r, n);
	if (rc) {
		free(r);
		return rc;
	}
	free(last.recs);
	last.recs = r;
	last.n = n;
	return 0;
}

void keyage_reset(void)
{
	free(last.recs);
	last.recs = NULL;
	last.n = 0;
}

/* Reads the records of the file, or returns 0 records. */
static size_t read_file(const char *dir, struct age_record **out)
{
	char path[4200], head[sizeof(magic)];
	uint64_t count, size;
	size_t n = 0;
	int fd;

	*out = NULL;
	path_of(path, sizeof(path), dir, KEYAGE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (read(fd, head, sizeof(head)) == sizeof(head) &&
	    !memcmp(head, magic, sizeof(magic)) &&
	    read(fd, &size, sizeof(size)) == sizeof(size) &&
	    size == sizeof(**out) && /* another build's layout: ignored */
	    read(fd, &count, sizeof(count)) == sizeof(count) &&
	    count && count <= (1u << 24) &&
	    (*out = calloc(count, sizeof(**out))) &&
	    read(fd, *out, count * sizeof(**out)) == (ssize_t)(count * sizeof(**out)))
		n = count;
	close(fd);
	if (!n) {
		free(*out);
		*out = NULL;
	}
	return n;
}

void keyage_restore(const char *dir, struct policy *policy)
{
	struct age_record *r;
	size_t n = read_file(dir, &r);
	int64_t now = policy_now();

	for (size_t i = 0; i < n; i++) {
		const struct policy_peer *p = policy_peer_find(policy, &r[i].scope);
		struct policy_peer *own;
		int k;

		if (!p || p->sock_cookie || r[i].since <= 0 || r[i].since > now)
			continue;
		k = policy_current_key(p);
		if (k < 0 || (*tcpao_keyring_key(&p->keys, k)).sndid != r[i].sndid ||
		    (*tcpao_keyring_key(&p->keys, k)).rcvid != r[i].rcvid ||
		    !(own = policy_peer_find_mut(policy, &r[i].scope)))
			continue;
		own->current_serial = tcpao_keyring_serial(&own->keys, k);
		own->current_since = r[i].since;
	}
	free(r);
}
