// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state file (daemon/state.c): what a worker writes is what a
 * restarted daemon claims; keys travel with their flows; a torn record
 * falls back to the slot's other copy; a flow that went away stays gone,
 * also when an older file still has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "state.h"
#include "worker.h"

#define SLOTS 8
#define RECORD_SIZE 512 /* state.c's */

static char dir[64], err[256];

struct rig {
	struct worker w;
	struct policy *policy;
};

static struct tcpao_mkt test_key(uint8_t id)
{
	struct tcpao_mkt m = { .sndid = id, .rcvid = id,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
			       .key = "secret" };

	assert_int_equal(tcpao_addr_parse("198.18.0.2/32", &m.peer,
					  &m.prefixlen), 0);
	return m;
}

static struct policy *policy_with_key(uint8_t id)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m = test_key(id);

	assert_non_null(p);
	if (id)
		assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), 0);
	return p;
}

/* A worker as a fresh daemon has it: its file is new. */
static void rig_open(struct rig *r, struct policy *policy)
{
	memset(r, 0, sizeof(*r));
	r->policy = policy;
	r->w.policy = policy;
	assert_int_equal(flow_table_init(&r->w.flows, SLOTS), 0);
	assert_int_equal(state_file_open(&r->w.state, dir, 0, SLOTS, err,
					 sizeof(err)), 0);
}

static void rig_close(struct rig *r)
{
	state_file_close(&r->w.state);
	flow_table_free(&r->w.flows);
}

static struct flow_key flow_key(uint16_t lport)
{
	struct flow_key k = { .lport = lport, .rport = 179 };

	assert_int_equal(tcpao_addr_parse("198.18.0.1", &k.local, NULL), 0);
	assert_int_equal(tcpao_addr_parse("198.18.0.2", &k.remote, NULL), 0);
	return k;
}

static struct flow *add_flow(struct rig *r, uint16_t lport, uint32_t sne)
{
	struct flow_key k = flow_key(lport);
	const struct policy_peer *p = worker_policy_peer(&r->w, &k);
	struct tcpao_keysel sel;
	struct flow *f = flow_insert(&r->w.flows, &k);

	assert_non_null(p);
	assert_non_null(f);
	assert_int_equal(policy_peer_keysel(p, &k.remote, 0, &sel), 0);
	flow_start(f, p, &sel, FLOW_ESTABLISHED, 0);
	tcpao_dir_set_disn(&f->rx, 1000);
	tcpao_dir_set_disn(&f->tx, 2000);
	f->tx.sne.sne = sne;
	f->tx.sne.seq = 5000;
	worker_flow_changed(&r->w, f);
	return f;
}

/* Loads as a restart does; *sne is the restored tx SNE of lport's flow
 * (or the claim fails). */
static bool restart_and_claim(struct policy *policy, uint16_t lport,
			      uint32_t *sne)
{
	struct flow_table t;
	struct flow_key k = flow_key(lport);
	struct flow *f;
	bool ok;

	state_free();
	assert_true(state_load(dir, policy, err, sizeof(err)) >= 0);
	assert_int_equal(flow_table_init(&t, SLOTS), 0);
	f = flow_insert(&t, &k);
	ok = state_claim(&k, policy, f, 0);
	if (ok) {
		assert_int_equal(f->state, FLOW_ESTABLISHED);
		assert_int_equal(f->rx.ctx.disn, 1000);
		assert_int_equal(f->tx.ctx.disn, 2000);
		assert_int_equal(f->tx.sne.seq, 5000);
		*sne = f->tx.sne.sne;
	}
	flow_table_free(&t);
	return ok;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tcpao-state-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	state_free();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void corrupt(off_t at)
{
	char path[128];
	uint8_t b;
	int fd;

	snprintf(path, sizeof(path), "%s/flows-0", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

static void test_round_trip_with_key(void **state)
{
	struct rig r;
	struct policy *fresh = policy_with_key(0);
	const struct policy_peer *p;
	struct flow_key k = flow_key(40000);
	struct stat st;
	char path[128];
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(7));
	add_flow(&r, 40000, 3);
	assert_int_equal(state_save(&r.w), 0);
	assert_int_equal(r.w.state.ndirty, 0);
	snprintf(path, sizeof(path), "%s/flows-0", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rig_close(&r);
	/* The key was added at run time: the new policy lacks it. */
	assert_true(restart_and_claim(fresh, 40000, &sne));
	assert_int_equal(sne, 3);
	p = policy_match(fresh, &k.local, k.lport, &k.remote, k.rport);
	assert_non_null(p);
	assert_int_equal(p->keys.n, 1);
	assert_int_equal((*tcpao_keyring_key(&p->keys, 0)).sndid, 7);
	assert_memory_equal((*tcpao_keyring_key(&p->keys, 0)).key, "secret", 6);
	/* Claimed once only. */
	assert_false(state_claim(&k, fresh, &(struct flow){ 0 }, 0));
	policy_free(r.policy);
	policy_free(fresh);
}

static void test_torn_record_falls_back(void **state)
{
	struct rig r;
	struct flow *f;
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(1));
	f = add_flow(&r, 40001, 1); /* slot 0, copy 0 */
	assert_int_equal(state_save(&r.w), 0);
	f->tx.sne.sne = 2;
	worker_flow_changed(&r.w, f); /* copy 1 */
	assert_int_equal(state_save(&r.w), 0);
	f->tx.sne.sne = 3;
	worker_flow_changed(&r.w, f); /* copy 0 again */
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	corrupt(100); /* copy 0: the newest */
	assert_true(restart_and_claim(r.policy, 40001, &sne));
	assert_int_equal(sne, 2);
	state_free();
	policy_free(r.policy);
}

static void test_both_copies_torn(void **state)
{
	struct rig r;
	struct flow *f;
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(1));
	f = add_flow(&r, 40002, 1);
	assert_int_equal(state_save(&r.w), 0);
	f->tx.sne.sne = 2;
	worker_flow_changed(&r.w, f);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	corrupt(RECORD_SIZE - 1); /* the checksum of copy 0 */
	corrupt(RECORD_SIZE + 20);
	assert_false(restart_and_claim(r.policy, 40002, &sne));
	state_free();
	policy_free(r.policy);
}

/* Records go into a shared mapping of the file: another reader sees one
 * as soon as state_save returns (what SIGKILL then leaves), without a
 * pwrite; where the mapping is gone (a file system without fallocate)
 * pwrite writes the same records. */
static void test_mapped_and_written(void **state)
{
	struct rig r;
	uint32_t magic = 0, sne = 0;
	char path[128];
	int fd;

	(void)state;
	rig_open(&r, policy_with_key(1));
	assert_non_null(r.w.state.map);
	add_flow(&r, 40010, 6); /* slot 0, copy 0 */
	assert_int_equal(state_save(&r.w), 0);
	snprintf(path, sizeof(path), "%s/flows-0", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &magic, sizeof(magic), 0), sizeof(magic));
	assert_int_equal(magic, 0x32616f74u);
	close(fd);
	munmap(r.w.state.map, r.w.state.map_len);
	r.w.state.map = NULL;
	add_flow(&r, 40011, 7);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	assert_true(restart_and_claim(r.policy, 40010, &sne));
	assert_int_equal(sne, 6);
	assert_true(restart_and_claim(r.policy, 40011, &sne));
	assert_int_equal(sne, 7);
	state_free();
	policy_free(r.policy);
}

/* Only changed flows are written; a removed flow and a flow that lost its
 * slot to another in the same batch are not restored. */
static void test_removed_and_replaced(void **state)
{
	struct rig r;
	struct flow *a, *b;
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(1));
	a = add_flow(&r, 40003, 1);
	b = add_flow(&r, 40004, 1);
	assert_int_equal(r.w.state.ndirty, 2);
	assert_int_equal(state_save(&r.w), 0);
	worker_remove_flow(&r.w, a);
	add_flow(&r, 40005, 5); /* takes a's slot */
	b->tx.sne.sne = 4;
	worker_flow_changed(&r.w, b);
	worker_remove_flow(&r.w, b);
	assert_int_equal(r.w.state.ndirty, 2);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	assert_false(restart_and_claim(r.policy, 40003, &sne));
	assert_false(restart_and_claim(r.policy, 40004, &sne));
	assert_true(restart_and_claim(r.policy, 40005, &sne));
	assert_int_equal(sne, 5);
	state_free();
	policy_free(r.policy);
}

/* Two restarts: the file of the first restart's flows ("restored") is
 * older than what the worker wrote since; the newest record wins, also
 * the one that says the flow is gone. */
static void test_newest_wins_across_restarts(void **state)
{
	struct rig r;
	struct flow *f;
	struct flow_key k = flow_key(40006);
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(1));
	add_flow(&r, 40006, 1);
	add_flow(&r, 40007, 1);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	/* First restart: both flows go to the restored file. */
	assert_int_equal(state_load(dir, r.policy, err, sizeof(err)), 2);
	rig_open(&r, r.policy);
	f = flow_insert(&r.w.flows, &k);
	assert_true(state_claim(&k, r.policy, f, 0));
	f->tx.sne.sne = 9;
	worker_flow_changed(&r.w, f);
	assert_int_equal(state_save(&r.w), 0);
	k = flow_key(40007);
	f = flow_insert(&r.w.flows, &k);
	assert_true(state_claim(&k, r.policy, f, 0));
	worker_flow_changed(&r.w, f);
	assert_int_equal(state_save(&r.w), 0);
	worker_remove_flow(&r.w, f);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	state_free();
	/* Second restart. */
	assert_true(restart_and_claim(r.policy, 40006, &sne));
	assert_int_equal(sne, 9);
	assert_false(restart_and_claim(r.policy, 40007, &sne));
	state_free();
	policy_free(r.policy);
}

/* ---- origins: restore never promotes ------------------------------------ */

static struct policy_scope sock_scope(uint16_t lport)
{
	struct policy_scope sc = { .local_port = lport, .remote_port = 179 };

	assert_int_equal(tcpao_addr_parse("198.18.0.2/32", &sc.peer, &sc.peer_len), 0);
	assert_int_equal(tcpao_addr_parse("198.18.0.1/32", &sc.local, &sc.local_len), 0);
	return sc;
}

/* A user's socket key (uid 65534) on a flow to a configured peer: after a
 * restart its socket is gone, and the key must not join the host's entry
 * for that peer, let alone as its current key; nor may the flow go on
 * with the host's keys. */
static void test_socket_key_never_promoted(void **state)
{
	struct policy *old = policy_new(), *fresh = policy_new();
	struct tcpao_mkt file = test_key(7), user = test_key(9);
	struct policy_sock ps = { .cookie = 0xfeedfacecafe, .uid = 65534 };
	struct policy_scope sc = sock_scope(40001);
	struct tcpao_keyring ring;
	const struct policy_peer *p;
	struct flow_key k = flow_key(40001);
	struct rig r;
	uint32_t sne = 0;
	int rc;

	(void)state;
	assert_int_equal(policy_add_key_from(old, NULL, &file, POLICY_FROM_FILE,
					     false, false, err, sizeof(err)), 0);
	assert_int_equal(policy_add_key_from(fresh, NULL, &file, POLICY_FROM_FILE,
					     false, false, err, sizeof(err)), 0);
	tcpao_keyring_init(&ring);
	assert_int_equal(tcpao_keyring_add(&ring, &user), 0);
	assert_non_null(policy_sock_set(old, &ps, &sc, &ring, false, NULL, 0, &rc, err,
					sizeof(err)));
	tcpao_keyring_free(&ring);
	rig_open(&r, old);
	add_flow(&r, 40001, 5);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	assert_false(restart_and_claim(fresh, 40001, &sne));
	p = policy_match(fresh, &k.local, k.lport, &k.remote, k.rport);
	assert_non_null(p);
	assert_int_equal(p->sock_cookie, 0);
	assert_int_equal(p->keys.n, 1);
	assert_int_equal((*tcpao_keyring_key(&p->keys, 0)).sndid, 7);
	assert_null(policy_sock_entry(fresh, ps.cookie));
	policy_free(old);
	policy_free(fresh);
}

/* A runtime key comes back as a runtime key (a reload keeps it). */
static void test_runtime_key_restored_as_runtime(void **state)
{
	struct policy *fresh = policy_with_key(0);
	const struct policy_peer *p;
	struct flow_key k = flow_key(40002);
	char origin[96];
	struct rig r;
	uint32_t sne = 0;

	(void)state;
	rig_open(&r, policy_with_key(8)); /* policy_add_key: runtime */
	add_flow(&r, 40002, 1);
	assert_int_equal(state_save(&r.w), 0);
	rig_close(&r);
	assert_true(restart_and_claim(fresh, 40002, &sne));
	p = policy_match(fresh, &k.local, k.lport, &k.remote, k.rport);
	assert_non_null(p);
	assert_int_equal(p->keys.n, 1);
	assert_string_equal(policy_key_origin(p, 0, origin, sizeof(origin)), "runtime");
	policy_free(r.policy);
	policy_free(fresh);
}

/* The state directory holds secrets: a wide mode is fixed. */
static void test_state_dir_mode(void **state)
{
	struct policy *p = policy_new();
	struct stat st;

	(void)state;
	assert_int_equal(chmod(dir, 0755), 0);
	state_free();
	assert_true(state_load(dir, p, err, sizeof(err)) >= 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_key_never_promoted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_key_restored_as_runtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_with_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mapped_and_written, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_record_falls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_copies_torn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_removed_and_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newest_wins_across_restarts,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
