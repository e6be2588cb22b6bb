// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Installing and removing tcpaod's netfilter rules by running iptables,
 * ip6tables and ipset (their restore forms, one call per table).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"
#include "helpers.h"
#include "log.h"
#include "mark.h"
#include "pmtu.h"
#include "rules.h"

#define SET4 "tcpao4"
#define SET6 "tcpao6"
#define SETPORTS "tcpaoports"
#define CHAIN_IN "tcpao-in"
#define CHAIN_OUT "tcpao-out"

/* Runs argv with input on its stdin; its output goes to /dev/null unless
 * loud. Returns its exit status, or -errno. posix_spawn(), not fork():
 * a fork copies the page tables of a daemon holding a large policy and
 * leaves every page write-protected, so that each page it writes next
 * costs a fault (measured: a key change at 100,000 keys took 3x longer
 * after one fork). */
static int run(const char *const argv[], const char *input, bool loud)
{
	const char *path = helper_path(argv[0]);
	posix_spawn_file_actions_t fa;
	int in[2], status, rc;
	pid_t pid;

	if (!path)
		return 127; /* as a shell would say: not found */
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	rc = posix_spawn_file_actions_init(&fa);
	if (!rc) {
		rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0) ?:
		     posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ?:
		     (loud ? 0 : posix_spawn_file_actions_adddup2(&fa, 1, 2)) ?:
		     posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(in[0]);
	if (rc) {
		close(in[1]);
		return rc == ENOENT || rc == EACCES ? 127 : -rc;
	}
	if (input) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			ssize_t n = write(in[1], input + off, len - off);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void rules_init(struct rules *r, uint16_t base, unsigned int n)
{
	memset(r, 0, sizeof(*r));
	r->nqueues = n;
	r->egress_base = base;
	r->ingress_base = (uint16_t)(base + n);
	r->icmp_queue = (uint16_t)(base + 2 * n);
}

/* "--queue-num N" or "--queue-balance A:B" for n queues from base. */
static void queue_target(char *buf, size_t len, uint16_t base, unsigned int n)
{
	if (n == 1)
		snprintf(buf, len, "--queue-num %u", base);
	else
		snprintf(buf, len, "--queue-balance %u:%u", base,
			 base + n - 1);
}

/* Each "-m addrtype" rule twice: as is (the main table's local
 * addresses), and with --limit-iface-in/out, which looks the address up
 * in the table of the device's VRF (Linux's l3mdev_fib_table()): the
 * local addresses of a VRF are only there. The limited lookup also wants
 * the address on that very device, so a segment is queued by it on a
 * VRF's slave, not on the VRF device itself (the second pass of
 * PREROUTING / POSTROUTING that a VRF makes; docs/keychains.md). */
static size_t twice(char *buf, size_t len, const char *match,
		    const char *type, const char *limit, const char *target)
{
	return (size_t)snprintf(buf, len,
		"%s -m addrtype %s -j NFQUEUE %s\n"
		"%s -m addrtype %s %s -j NFQUEUE %s\n",
		match, type, target, match, type, limit, target);
}

/* The restore input for one family. The jumps into our chains are added
 * only when missing: a restart refills the chains in one transaction and
 * never leaves a moment without rules (fail closed). */
static void rules_text(const struct rules *r, bool v6, bool jump_in,
		       bool jump_out, char *buf, size_t len)
{
	const char *set = v6 ? SET6 : SET4;
	char in[48], out[48], icmp[48], match[160];
	size_t off;

	queue_target(out, sizeof(out), r->egress_base, r->nqueues);
	queue_target(in, sizeof(in), r->ingress_base, r->nqueues);
	snprintf(icmp, sizeof(icmp), "--queue-num %u", r->icmp_queue);
	/* A VRF's second PREROUTING pass (on the VRF device, after the one
	 * on its slave) must never be queued: Linux frees a packet
	 * reinjected there (vrf_rcv_nfhook()'s okfn is vrf_rcv_finish()),
	 * whatever the verdict. A segment we let through on the slave has
	 * our mark: not looked at again. lo is left out: there our mark is
	 * the one our egress verdict gave, and the segment still needs its
	 * ingress check. */
	off = (size_t)snprintf(buf, len, "*raw\n:" CHAIN_IN " - [0:0]\n%s"
			       "-A " CHAIN_IN " -m mark --mark 0x%x/0x%x ! -i lo -j RETURN\n",
			       jump_in ? "" : "-I PREROUTING 1 -j " CHAIN_IN "\n",
			       mark_get(), mark_get());
	snprintf(match, sizeof(match), "-A " CHAIN_IN " -p tcp -m set --match-set %s src", set);
	off += twice(buf + off, len - off, match, "--dst-type LOCAL", "--limit-iface-in", in);
	/* AO from anyone else: Linux drops it when no key matches
	 * (TCPAOKeyNotFound); without this rule the stack would take it
	 * unverified. Plain TCP of non-peers never comes here. */
	off += twice(buf + off, len - off, "-A " CHAIN_IN " -p tcp -m tcp --tcp-option 29",
		     "--dst-type LOCAL", "--limit-iface-in", in);
	/* Every peer's TCP to the port of a listener that requires AO:
	 * Linux refuses it unsigned, whoever sends it. */
	off += twice(buf + off, len - off, "-A " CHAIN_IN " -p tcp -m set --match-set " SETPORTS " dst",
		     "--dst-type LOCAL", "--limit-iface-in", in);
	/* ICMP errors: destination unreachable; for IPv6 also packet too
	 * big (IPv4's frag-needed is a destination unreachable code). */
	if (v6) {
		off += twice(buf + off, len - off, "-A " CHAIN_IN " -p ipv6-icmp -m icmp6 --icmpv6-type 1",
			     "--dst-type LOCAL", "--limit-iface-in", icmp);
		off += twice(buf + off, len - off, "-A " CHAIN_IN " -p ipv6-icmp -m icmp6 --icmpv6-type 2",
			     "--dst-type LOCAL", "--limit-iface-in", icmp);
	} else {
		off += twice(buf + off, len - off, "-A " CHAIN_IN " -p icmp -m icmp --icmp-type 3",
			     "--dst-type LOCAL", "--limit-iface-in", icmp);
	}
	off += (size_t)snprintf(buf + off, len - off, "COMMIT\n*mangle\n:" CHAIN_OUT " - [0:0]\n%s",
				jump_out ? "" : "-I POSTROUTING 1 -j " CHAIN_OUT "\n");
	snprintf(match, sizeof(match), "-A " CHAIN_OUT " -p tcp -m set --match-set %s dst "
		 "-m mark ! --mark 0x%x/0x%x", set, mark_get(), mark_get());
	off += twice(buf + off, len - off, match, "--src-type LOCAL", "--limit-iface-out", out);
	snprintf(buf + off, len - off, "COMMIT\n");
}

/* A legacy tool's table that is not loaded holds nothing of ours, and
 * asking the tool would load it (each helper costs ~10 ms: four of them
 * were a sixth of an autostarted daemon's start). */
static bool legacy_absent(const char *ipt, const char *table)
{
	const char *names = strncmp(ipt, "ip6", 3) ? "/proc/net/ip_tables_names"
						   : "/proc/net/ip6_tables_names";
	char line[64];
	bool listed = false;
	FILE *f;

	if (!strstr(ipt, "-legacy"))
		return false;
	if (!(f = fopen(names, "re")))
		return true; /* no legacy tables at all (module not loaded) */
	while (!listed && fgets(line, sizeof(line), f))
		listed = !strncmp(line, table, strlen(table)) && line[strlen(table)] == '\n';
	fclose(f);
	return !listed;
}

static void remove_family(const char *ipt)
{
	static const char *const tables[][3] = {
		{ "raw", "PREROUTING", CHAIN_IN },
		{ "mangle", "POSTROUTING", CHAIN_OUT },
	};

	for (size_t i = 0; i < 2; i++) {
		const char *del[] = { ipt, "-w", "-t", tables[i][0], "-D",
				      tables[i][1], "-j", tables[i][2], NULL };
		const char *flush[] = { ipt, "-w", "-t", tables[i][0], "-F",
					tables[i][2], NULL };
		const char *drop[] = { ipt, "-w", "-t", tables[i][0], "-X",
				       tables[i][2], NULL };

		if (legacy_absent(ipt, tables[i][0]))
			continue;
		for (int n = 0; n < 16 && run(del, NULL, false) == 0; n++)
			;
		run(flush, NULL, false);
		run(drop, NULL, false);
	}
}

static void destroy_sets(void)
{
	const char *d4[] = { "ipset", "destroy", SET4, NULL };
	const char *d6[] = { "ipset", "destroy", SET6, NULL };
	const char *dp[] = { "ipset", "destroy", SETPORTS, NULL };

	run(d4, NULL, false);
	run(d6, NULL, false);
	run(dp, NULL, false);
}

void rules_remove(struct rules *r)
{
	static const char *const all[] = { "iptables-nft", "ip6tables-nft",
					   "iptables-legacy",
					   "ip6tables-legacy" };

	/* Both backends: a previous daemon may have used the other one. */
	for (size_t i = 0; i < 4; i++)
		remove_family(all[i]);
	destroy_sets();
	rules_free(r);
}

void rules_free(struct rules *r)
{
	free(r->members);
	r->members = NULL;
	r->nmembers = 0;
	free(r->ports);
	r->ports = NULL;
	r->nports = 0;
	members_free(&r->counts);
	r->counts_ok = r->stale = false;
	r->sets_loaded = false;
	r->installed = false;
}

/* ---- peer sets --------------------------------------------------------- */

static void put_member(struct ipset_member *m, sa_family_t family,
		       uint8_t first_byte, uint8_t len)
{
	memset(m, 0, sizeof(*m));
	m->prefix.family = family;
	m->prefix.bytes[0] = first_byte;
	m->len = len;
}

/* The policy's distinct peer prefixes (policy_foreach_prefix()), sorted;
 * a /0 becomes two /1 (hash:net has no /0). *out is NULL when none. */
struct members {
	struct ipset_member *m;
	size_t k;
};

static void add_member(const struct tcpao_addr *prefix, uint8_t len, void *arg)
{
	struct members *ms = arg;

	if (prefix->family != AF_INET && prefix->family != AF_INET6)
		return;
	if (len == 0) {
		put_member(&ms->m[ms->k++], prefix->family, 0x00, 1);
		put_member(&ms->m[ms->k++], prefix->family, 0x80, 1);
		return;
	}
	ms->m[ms->k].prefix = *prefix;
	ms->m[ms->k++].len = len;
}

static int members_of(const struct policy *policy, struct ipset_member **out,
		      size_t *n)
{
	size_t count = policy_foreach_prefix(policy, NULL, NULL);
	struct members ms = { 0 };

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	ms.m = calloc(2 * count, sizeof(*ms.m));
	if (!ms.m)
		return -ENOMEM;
	policy_foreach_prefix(policy, add_member, &ms);
	*out = ms.m;
	*n = ipset_members_unique(ms.m, ms.k);
	return 0;
}

/* What is in `a` and not in `b` (both sorted by cmp), into out. */
static size_t sorted_minus(const void *a, size_t na, const void *b, size_t nb,
			   size_t size, int (*cmp)(const void *, const void *),
			   void *out)
{
	const char *pa = a, *pb = b;
	size_t i = 0, j = 0, k = 0;

	while (i < na) {
		int c = j < nb ? cmp(pa + i * size, pb + j * size) : -1;

		if (c < 0)
			memcpy((char *)out + k++ * size, pa + i++ * size, size);
		else if (c > 0)
			j++;
		else
			i++, j++;
	}
	return k;
}

/* What is in `a` or in `b` (both sorted by cmp, unique), into out (room
 * for na + nb), sorted and unique. */
static size_t sorted_union(const void *a, size_t na, const void *b, size_t nb,
			   size_t size, int (*cmp)(const void *, const void *),
			   void *out)
{
	const char *pa = a, *pb = b;
	size_t i = 0, j = 0, k = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : cmp(pa + i * size, pb + j * size);

		memcpy((char *)out + k++ * size, c <= 0 ? pa + i * size : pb + j * size, size);
		i += c <= 0;
		j += c >= 0;
	}
	return k;
}

/* The local ports of listeners that require AO, sorted, unique. */
static int cmp_port(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int ports_of(const struct policy *policy, uint16_t **out, size_t *n)
{
	size_t count = policy_required_ports(policy, NULL, 0), k = 0;
	uint16_t *p;

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	p = calloc(count, sizeof(*p));
	if (!p)
		return -ENOMEM;
	policy_required_ports(policy, p, count);
	qsort(p, count, sizeof(*p), cmp_port);
	for (size_t i = 0; i < count; i++)
		if (!k || p[k - 1] != p[i])
			p[k++] = p[i];
	*out = p;
	*n = k;
	return 0;
}

/* What the sets should hold. */
struct sets {
	struct ipset_member *members;
	size_t nmembers;
	uint16_t *ports;
	size_t nports;
};

static void sets_free(struct sets *w)
{
	free(w->members);
	free(w->ports);
	memset(w, 0, sizeof(*w));
}

static int sets_of(const struct policy *policy, struct sets *w)
{
	memset(w, 0, sizeof(*w));
	if (members_of(policy, &w->members, &w->nmembers) ||
	    ports_of(policy, &w->ports, &w->nports)) {
		sets_free(w);
		return -ENOMEM;
	}
	return 0;
}

/* A change of the sets, member by member; the guard learns the new
 * peers and ports before the sets, forgets the old ones after: in
 * between, a peer's packets are dropped, never sent in clear. The adds
 * all go before any delete, so that a failure leaves the sets holding
 * every member they held (<0: the caller's policy stays in force, and
 * the guard forgets the peers it learnt for the change).
 * Failed deletes leave members no one wants, which only queue packets
 * the workers pass: 1, the sets to be rebuilt whole next time. */
static int apply_change(const struct ipset_change *c)
{
	struct ipset_change adds = *c, dels = *c;
	int rc;

	adds.ndel = adds.nport_del = 0;
	dels.nadd = dels.nport_add = 0;
	guard_peers(c->add, c->nadd, true);
	guard_ports(c->port_add, c->nport_add, true);
	rc = ipset_change(&adds);
	if (rc) { /* the policy in force stays: the guard as it was */
		guard_forget(c->add, c->nadd);
		guard_forget_ports(c->port_add, c->nport_add);
		return rc;
	}
	if (ipset_change(&dels)) {
		log_msg(LOG_WARNING, "peer sets: members left over, rebuilt at the next change");
		return 1;
	}
	guard_forget(c->del, c->ndel);
	guard_forget_ports(c->port_del, c->nport_del);
	return 0;
}

/* The change from the loaded sets to `want` (apply_change()). */
static int change_sets(const struct sets *r, const struct sets *w)
{
	struct ipset_member *add = calloc(w->nmembers + 1, sizeof(*add));
	struct ipset_member *del = calloc(r->nmembers + 1, sizeof(*del));
	uint16_t *padd = calloc(w->nports + 1, sizeof(*padd));
	uint16_t *pdel = calloc(r->nports + 1, sizeof(*pdel));
	struct ipset_change c = { .set4 = SET4, .set6 = SET6,
				  .setports = SETPORTS, .add = add, .del = del,
				  .port_add = padd, .port_del = pdel };
	int rc = -ENOMEM;

	if (add && del && padd && pdel) {
		c.nadd = sorted_minus(w->members, w->nmembers, r->members, r->nmembers,
				      sizeof(*add), ipset_member_cmp, add);
		c.ndel = sorted_minus(r->members, r->nmembers, w->members, w->nmembers,
				      sizeof(*del), ipset_member_cmp, del);
		c.nport_add = sorted_minus(w->ports, w->nports, r->ports, r->nports,
					   sizeof(*padd), cmp_port, padd);
		c.nport_del = sorted_minus(r->ports, r->nports, w->ports, w->nports,
					   sizeof(*pdel), cmp_port, pdel);
		rc = apply_change(&c);
	}
	free(add);
	free(del);
	free(padd);
	free(pdel);
	return rc;
}

/* Our sets, as `ipset restore` creates them. hash:net holds 65,536
 * members unless told more: a host may have more peers. */
static const char *const set_specs[][2] = {
	{ SET4, "hash:net family inet maxelem 1048576" },
	{ SET6, "hash:net family inet6 maxelem 1048576" },
	{ SETPORTS, "bitmap:port range 0-65535" },
};
#define NSETS (sizeof(set_specs) / sizeof(set_specs[0]))

/* Which names exist now (`ipset list -n`): bit i for name i. */
static unsigned int sets_present(const char *const *names, size_t n)
{
	struct helper_pipe h;
	unsigned int bits = 0;
	char line[64];

	if (helper_open(&h, "ipset", "list -n"))
		return 0;
	while (fgets(line, sizeof(line), h.out)) {
		line[strcspn(line, "\n")] = 0;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(line, names[i]))
				bits |= 1u << i;
	}
	helper_close(&h);
	return bits;
}

/* The restore lines that make the sets to swap: our sets are created
 * only when missing (one made by an older tcpaod, with other parameters,
 * stays for the swap: `create -exist` would fail on it), and "-new" sets
 * a killed run left are destroyed first. */
static size_t sets_prologue(char *buf, size_t cap)
{
	char newname[NSETS][32];
	const char *names[2 * NSETS];
	unsigned int have;
	size_t off = 0;

	for (size_t i = 0; i < NSETS; i++) {
		snprintf(newname[i], sizeof(newname[i]), "%s-new", set_specs[i][0]);
		names[i] = set_specs[i][0];
		names[NSETS + i] = newname[i];
	}
	have = sets_present(names, 2 * NSETS);
	for (size_t i = 0; i < NSETS; i++) {
		if (!(have & 1u << i))
			off += (size_t)snprintf(buf + off, cap - off, "create %s %s\n",
						set_specs[i][0], set_specs[i][1]);
		if (have & 1u << (NSETS + i))
			off += (size_t)snprintf(buf + off, cap - off, "destroy %s\n", newname[i]);
		off += (size_t)snprintf(buf + off, cap - off, "create %s %s\n",
					newname[i], set_specs[i][1]);
	}
	return off;
}

/* The sets rebuilt whole: filled under new names, then swapped in. */
static int reload_sets(const struct sets *w, char *err, size_t errlen)
{
	static const char *const argv[] = { "ipset", "restore", NULL };
	size_t cap = 1024 + w->nmembers * 80 + w->nports * 32, off;
	char *buf = malloc(cap), text[64];
	int rc;

	if (!buf)
		return -ENOMEM;
	off = sets_prologue(buf, cap);
	for (size_t i = 0; i < w->nmembers; i++)
		off += (size_t)snprintf(buf + off, cap - off, "add %s %s -exist\n",
					w->members[i].prefix.family == AF_INET ? SET4 "-new" : SET6 "-new",
					policy_prefix_str(&w->members[i].prefix, w->members[i].len,
							  text, sizeof(text)));
	for (size_t i = 0; i < w->nports; i++)
		off += (size_t)snprintf(buf + off, cap - off,
					"add " SETPORTS "-new %u -exist\n", w->ports[i]);
	snprintf(buf + off, cap - off,
		 "swap " SET4 "-new " SET4 "\nswap " SET6 "-new " SET6 "\n"
		 "swap " SETPORTS "-new " SETPORTS "\n"
		 "destroy " SET4 "-new\ndestroy " SET6 "-new\ndestroy " SETPORTS "-new\n");
	rc = run(argv, buf, true);
	free(buf);
	if (rc) {
		snprintf(err, errlen, "ipset restore failed (status %d)", rc);
		return -EIO;
	}
	return 0;
}

static bool same_sets(const struct rules *r, const struct sets *w)
{
	if (w->nmembers != r->nmembers || w->nports != r->nports)
		return false;
	for (size_t i = 0; i < w->nmembers; i++)
		if (ipset_member_cmp(&w->members[i], &r->members[i]))
			return false;
	return !w->nports || !memcmp(w->ports, r->ports, w->nports * sizeof(*w->ports));
}

static void sets_keep(struct rules *r, struct sets *w)
{
	free(r->members);
	free(r->ports);
	r->members = w->members;
	r->nmembers = w->nmembers;
	r->ports = w->ports;
	r->nports = w->nports;
	memset(w, 0, sizeof(*w));
}

/* members and ports as the counts say (after rules_change_sets()). */
static int unstale(struct rules *r)
{
	struct sets now = { 0 };
	size_t k = 0;

	if (!r->stale)
		return 0;
	if (members_list(&r->counts, &now.members, &now.nmembers) ||
	    (r->counts.nports && !(now.ports = calloc(r->counts.nports, sizeof(*now.ports))))) {
		sets_free(&now);
		return -ENOMEM;
	}
	for (size_t p = 0; r->counts.ports && p < 65536; p++)
		if (r->counts.ports[p])
			now.ports[k++] = (uint16_t)p;
	now.nports = k;
	sets_keep(r, &now);
	r->stale = false;
	return 0;
}

/* The members and ports of a and of b, into u; -ENOMEM. */
static int sets_union(const struct sets *a, const struct sets *b, struct sets *u)
{
	memset(u, 0, sizeof(*u));
	if (!(u->members = calloc(a->nmembers + b->nmembers + 1, sizeof(*u->members))) ||
	    !(u->ports = calloc(a->nports + b->nports + 1, sizeof(*u->ports)))) {
		sets_free(u);
		return -ENOMEM;
	}
	u->nmembers = sorted_union(a->members, a->nmembers, b->members, b->nmembers,
				   sizeof(*u->members), ipset_member_cmp, u->members);
	u->nports = sorted_union(a->ports, a->nports, b->ports, b->nports, sizeof(*u->ports),
				 cmp_port, u->ports);
	return 0;
}

/* The guard's peers and ports made s's (add_only: added to it). */
static void guard_sets(const struct sets *s, bool add_only)
{
	guard_peers(s->members, s->nmembers, add_only);
	guard_ports(s->ports, s->nports, add_only);
}

/* The sets rebuilt whole: the guard first, pruned once the sets are in.
 * `ipset restore` is no transaction: it swaps the sets in a family at a
 * time, and a failure stops it at some line. So they are filled with the
 * members of the policy in force too (in_force, when the caller keeps it
 * on failure), then pruned to want member by member; wherever the
 * restore stops, every peer of that policy is in. 1: pruning failed,
 * members are left over. */
static int rebuild(struct rules *r, const struct sets *want, const struct policy *in_force,
		   char *err, size_t errlen)
{
	struct sets keep = { 0 }, fill = { 0 };
	int rc = in_force ? sets_of(in_force, &keep) ?: sets_union(want, &keep, &fill) : 0;

	if (rc) {
		sets_free(&keep);
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	guard_sets(want, true);
	r->sets_loaded = false;
	r->reloads++;
	rc = reload_sets(in_force ? &fill : want, err, errlen);
	if (!rc && in_force)
		rc = change_sets(&fill, want) ? 1 : 0;
	if (rc >= 0)
		guard_sets(want, false);
	else if (in_force) /* it stays in force: the guard as it was */
		guard_sets(&keep, false);
	sets_free(&keep);
	sets_free(&fill);
	return rc;
}

/* rules_update_sets(), the policy in_force (if any) kept in the sets
 * until the change is made. */
static int update_sets(struct rules *r, const struct policy *policy,
		       const struct policy *in_force, char *err, size_t errlen)
{
	struct sets want;
	int rc = unstale(r) ?: sets_of(policy, &want);

	if (rc) {
		r->sets_loaded = r->counts_ok = false; /* rebuilt whole next time */
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	r->counts_ok = !members_reset(&r->counts, policy);
	/* A key change (a rotation) leaves the peers as they were. */
	if (r->sets_loaded && same_sets(r, &want)) {
		sets_free(&want);
		return 0;
	}
	rc = r->sets_loaded ? change_sets(&(struct sets){ r->members, r->nmembers, r->ports,
							 r->nports }, &want) : -EAGAIN;
	if (rc < 0)
		rc = rebuild(r, &want, in_force, err, errlen);
	if (rc < 0) { /* what the sets hold is not what the counts say */
		sets_free(&want);
		r->counts_ok = false;
	}
	sets_keep(r, &want);
	r->sets_loaded = !rc;
	return rc < 0 ? rc : 0;
}

int rules_update_sets(struct rules *r, const struct policy *policy,
		      char *err, size_t errlen)
{
	return update_sets(r, policy, NULL, err, errlen);
}

/* One changed slot's comings (sign > 0) or goings: a socket's entry
 * changed by one key counts that key, any other its whole self. */
static int count_slot(struct rules *r, const struct policy_peer *o,
		      const struct policy_peer *p, int sign, struct members_delta *d)
{
	int rc = o && p && o != p ? members_count_change(&r->counts, o, p, sign, d) : 0;

	if (rc || o == p)
		return rc < 0 ? rc : 0;
	if (sign > 0)
		return p ? members_count(&r->counts, p, 1, d) : 0;
	return o ? members_count(&r->counts, o, -1, d) : 0;
}

/* Counts the entries fresh changed: old's out, fresh's in (in first, so
 * that a member both want never comes to 0 on the way). */
static int count_changes(struct rules *r, const struct policy *old,
			 const struct policy *fresh, const size_t *slots, size_t n,
			 struct members_delta *d)
{
	int rc = 0;

	for (int sign = 1; sign >= -1 && !rc; sign -= 2)
		for (size_t i = 0; i < n && !rc; i++)
			rc = count_slot(r, policy_entry(old, slots[i]),
					policy_entry(fresh, slots[i]), sign, d);
	return rc;
}

int rules_change_sets(struct rules *r, const struct policy *old,
		      const struct policy *fresh, char *err, size_t errlen)
{
	struct members_delta d = { 0 };
	size_t *slots = NULL, n;
	int rc = -EAGAIN;

	if (r->sets_loaded && r->counts_ok && policy_changes(fresh, old, &slots, &n))
		rc = count_changes(r, old, fresh, slots, n, &d);
	free(slots);
	if (!rc) {
		struct ipset_change c = { .set4 = SET4, .set6 = SET6, .setports = SETPORTS,
					  .add = d.add, .nadd = d.nadd, .del = d.del,
					  .ndel = d.ndel, .port_add = d.port_add,
					  .nport_add = d.nport_add, .port_del = d.port_del,
					  .nport_del = d.nport_del };

		r->stale |= d.nadd || d.ndel || d.nport_add || d.nport_del;
		rc = apply_change(&c);
	}
	members_delta_free(&d);
	if (rc > 0) /* fresh's members in, some of old's left over */
		r->sets_loaded = false;
	if (rc >= 0)
		return 0;
	if (rc != -EAGAIN) /* counts or sets of unknown worth: rebuilt whole */
		r->sets_loaded = false;
	return update_sets(r, fresh, old, err, errlen);
}

static bool has_jump(const char *ipt, const char *table, const char *hook,
		     const char *chain)
{
	const char *argv[] = { ipt, "-w", "-t", table, "-C", hook, "-j", chain,
			       NULL };

	return !legacy_absent(ipt, table) && run(argv, NULL, false) == 0;
}

static bool backend_in_use(const char *i4, const char *i6)
{
	return has_jump(i4, "raw", "PREROUTING", CHAIN_IN) ||
	       has_jump(i6, "raw", "PREROUTING", CHAIN_IN) ||
	       has_jump(i4, "mangle", "POSTROUTING", CHAIN_OUT) ||
	       has_jump(i6, "mangle", "POSTROUTING", CHAIN_OUT);
}

static const char *family_missing(struct rules *r, const char *ipt, bool v6);

static int install_family(struct rules *r, const char *restore,
			  const char *ipt, bool v6)
{
	const char *argv[] = { restore, "-w", "--noflush", NULL };
	char text[4096];

	family_missing(r, ipt, v6);
	rules_text(r, v6, r->seen[v6].jump_in != JUMP_NONE,
		   r->seen[v6].jump_out != JUMP_NONE, text, sizeof(text));
	return run(argv, text, false) ? -1 : 0;
}

static int try_backend(struct rules *r, const char *r4, const char *r6,
		       const char *i4, const char *i6)
{
	if (install_family(r, r4, i4, false))
		return -1;
	if (install_family(r, r6, i6, true)) {
		remove_family(i4);
		return -1;
	}
	r->ipt4 = i4;
	r->ipt6 = i6;
	r->restore4 = r4;
	r->restore6 = r6;
	return 0;
}

int rules_install(struct rules *r, const struct policy *policy, char *err,
		  size_t errlen)
{
	static const char *const b[2][4] = {
		{ "iptables-nft-restore", "ip6tables-nft-restore",
		  "iptables-nft", "ip6tables-nft" },
		{ "iptables-legacy-restore", "ip6tables-legacy-restore",
		  "iptables-legacy", "ip6tables-legacy" },
	};
	int first = backend_in_use(b[1][2], b[1][3]) ? 1 : 0;
	int rc, used = -1;

	/* Sets first (the rules name them); an old run's sets are swapped. */
	rc = rules_update_sets(r, policy, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < 2 && used < 0; i++) {
		int k = (first + i) % 2;

		if (!try_backend(r, b[k][0], b[k][1], b[k][2], b[k][3]))
			used = k;
	}
	if (used < 0) {
		destroy_sets();
		snprintf(err, errlen,
			 "neither iptables-nft nor iptables-legacy can install "
			 "NFQUEUE rules with ipset matches");
		return -ENOTSUP;
	}
	/* Leftovers of a previous run with the other backend, if it has our
	 * jumps (each helper costs ~0.1 s on a loaded host: a restart
	 * should not wait for a dozen that find nothing). */
	if (used == 1 ? backend_in_use(b[0][2], b[0][3]) : first == 1) {
		remove_family(b[1 - used][2]);
		remove_family(b[1 - used][3]);
	}
	r->installed = true;
	return 0;
}

/* ---- presence ---------------------------------------------------------- */

/* Where our jump is among the rules of hook in table (iptables-save
 * output in text). */
static int jump_place(const char *text, const char *table, const char *hook,
		      const char *chain)
{
	char rule[64], tag[16], first[64];
	bool in_table = false, seen = false;
	const char *line;
	size_t n;

	snprintf(tag, sizeof(tag), "*%s\n", table);
	snprintf(first, sizeof(first), "-A %s ", hook);
	snprintf(rule, sizeof(rule), "-A %s -j %s\n", hook, chain);
	for (line = text; *line; line += n) {
		n = strcspn(line, "\n") + (line[strcspn(line, "\n")] ? 1 : 0);
		if (*line == '*')
			in_table = !strncmp(line, tag, n);
		if (!in_table || strncmp(line, first, strlen(first)))
			continue;
		if (!strncmp(line, rule, n) && n == strlen(rule))
			return seen ? JUMP_LATER : JUMP_FIRST;
		seen = true;
	}
	return JUMP_NONE;
}

/* The whole output of a helper, or NULL. */
static char *helper_output(const char *cmd)
{
	struct helper_pipe h;
	char *text = NULL;
	size_t cap = 0, len = 0, got;

	if (helper_open(&h, cmd, ""))
		return NULL;
	do {
		if (cap - len < 4096) {
			char *more = realloc(text, cap += 65536);

			if (!more)
				break;
			text = more;
		}
		got = fread(text + len, 1, cap - len - 1, h.out);
		len += got;
	} while (got);
	helper_close(&h);
	if (text)
		text[len] = '\0';
	return text;
}

/* Counts, in text, the lines that start with each of the n words. */
static void count_words(const char *text, const char *const *words, size_t n,
			unsigned int *counts)
{
	memset(counts, 0, n * sizeof(*counts));
	for (const char *line = text; line && *line;) {
		for (size_t i = 0; i < n; i++)
			if (!strncmp(line, words[i], strlen(words[i])))
				counts[i]++;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
}

/* Says once (until it changes) that a rule of the host precedes our jump:
 * what it accepts skips the rest of the table, our queue included, and
 * the guard then drops AO peers' segments. The jump stays where it is:
 * moving it first would let AO peers' segments skip the host's own rules
 * of that table (a queue's accept ends the table too). */
static void warn_jump_later(struct rules *r, bool v6)
{
	bool later = r->seen[v6].jump_in == JUMP_LATER ||
		     r->seen[v6].jump_out == JUMP_LATER;

	if (later && !r->seen[v6].warned_later)
		log_msg(LOG_WARNING, "rules: %s: a rule of the host comes before "
			"tcpao's jump in %s: segments it accepts are not "
			"signed or verified (the guard drops AO peers' ones)",
			v6 ? "IPv6" : "IPv4",
			r->seen[v6].jump_in == JUMP_LATER ? "raw PREROUTING" :
							    "mangle POSTROUTING");
	r->seen[v6].warned_later = later;
}

/* Looks at one family's ruleset: our jumps in their hooks, and our chains
 * holding as many rules as rules_text() writes (iptables-save spells each
 * rule its own way, so only the counts are compared; a rule deleted by
 * hand lowers them). Returns what is missing, or NULL. */
static const char *family_missing(struct rules *r, const char *ipt, bool v6)
{
	static const char *const words[] = { "-A " CHAIN_IN " ", "-A " CHAIN_OUT " " };
	unsigned int c[2], want[2];
	char cmd[96], text[4096], *save;

	rules_text(r, v6, true, true, text, sizeof(text));
	count_words(text, words, 2, want);
	snprintf(cmd, sizeof(cmd), "%s-save", ipt);
	save = helper_output(cmd);
	if (!save) /* cannot look: assume nothing moved */
		return NULL;
	count_words(save, words, 2, c);
	r->seen[v6].jump_in = jump_place(save, "raw", "PREROUTING", CHAIN_IN);
	r->seen[v6].jump_out = jump_place(save, "mangle", "POSTROUTING", CHAIN_OUT);
	free(save);
	warn_jump_later(r, v6);
	r->seen[v6].ok = r->seen[v6].jump_in != JUMP_NONE &&
			 r->seen[v6].jump_out != JUMP_NONE &&
			 c[0] >= want[0] && c[1] >= want[1];
	if (r->seen[v6].jump_in == JUMP_NONE || r->seen[v6].jump_out == JUMP_NONE)
		return v6 ? "IPv6 jump" : "IPv4 jump";
	if (!r->seen[v6].ok)
		return v6 ? "IPv6 chain rules" : "IPv4 chain rules";
	return NULL;
}

/* The sets' member counts (over netlink), against the members loaded. */
static const char *sets_missing(struct rules *r)
{
	static const char *const names[3] = { SET4, SET6, SETPORTS };
	size_t want[3] = { 0, 0, r->nports };
	long have[3];
	bool count_ok[3];

	for (size_t i = 0; i < r->nmembers && !r->stale; i++)
		want[r->members[i].prefix.family == AF_INET6]++;
	if (r->stale) {
		want[0] = r->counts.family[0];
		want[1] = r->counts.family[1];
		want[2] = r->counts.nports;
	}
	if (ipset_entries(names, 3, have)) /* cannot look: assume nothing moved */
		return NULL;
	for (int i = 0; i < 3; i++)
		count_ok[i] = have[i] == IPSET_ENTRIES_UNKNOWN ||
			      (have[i] >= 0 && (size_t)have[i] == want[i]);
	r->seen_sets_ok = have[0] >= 0 && have[1] >= 0 && have[2] >= 0 &&
			  count_ok[0] && count_ok[1] && count_ok[2];
	if (have[0] < 0 || have[1] < 0)
		return "peer set";
	if (have[2] < 0)
		return "port set";
	if (!count_ok[0] || !count_ok[1])
		return "peer set members";
	if (!count_ok[2])
		return "port set members";
	return NULL;
}

const char *rules_missing(struct rules *r, bool rulesets)
{
	const char *w4 = NULL, *w6 = NULL, *ws;

	if (!r->installed)
		return NULL;
	/* All looked at: rules_restore() redoes only what is gone. */
	if (rulesets) {
		w4 = family_missing(r, r->ipt4, false);
		w6 = family_missing(r, r->ipt6, true);
	}
	ws = sets_missing(r);
	return w4 ? w4 : w6 ? w6 : ws;
}

bool rules_announced(const struct rules *r)
{
	return r->ipt4 && strstr(r->ipt4, "-nft");
}

/* One family's chains refilled and its missing jumps added, in one
 * iptables-restore: what the last check saw decides (few helpers run, so
 * the window is short on a loaded host). */
static int restore_family(const struct rules *r, bool v6)
{
	const char *argv[] = { v6 ? r->restore6 : r->restore4, "-w",
			       "--noflush", NULL };
	char text[4096];

	rules_text(r, v6, r->seen[v6].jump_in != JUMP_NONE,
		   r->seen[v6].jump_out != JUMP_NONE, text, sizeof(text));
	return run(argv, text, false) ? -EIO : 0;
}

int rules_restore(struct rules *r, const struct policy *policy, char *err,
		  size_t errlen)
{
	int rc = 0;

	/* Sets first (the rules name them), rebuilt whole: gone or emptied. */
	if (!r->seen_sets_ok) {
		r->sets_loaded = false;
		rc = rules_update_sets(r, policy, err, errlen);
	}
	for (int v6 = 0; v6 < 2 && !rc; v6++)
		if (!r->seen[v6].ok && restore_family(r, v6)) {
			snprintf(err, errlen, "%s failed",
				 v6 ? r->restore6 : r->restore4);
			rc = -EIO;
		}
	if (rc) /* the whole way, backend detection included */
		rc = rules_install(r, policy, err, errlen);
	return rc;
}
