// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guard: tcpaod's second line of defence, netfilter BPF programs that
 * firewall tools do not see (guard.h). Built with clang -target bpf and
 * embedded in tcpaod.
 *
 *   egress  (POST_ROUTING, after mangle's queue): local TCP to an AO peer
 *           without the tcpao mark -> drop (it was not signed)
 *   ingress (LOCAL_IN): TCP without the mark from an AO peer, to the
 *           port of a listener that requires AO, or carrying a kind-29
 *           option from anyone -> drop (it was not verified; the kernel's
 *           TCP-MD5 would take a fake AO option unchecked)
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#define NF_DROP 0
#define NF_ACCEPT 1
#define NFPROTO_IPV4 2
#define NF_INET_LOCAL_IN 1

/* Only the fields read; libbpf relocates them against the kernel's BTF. */
struct sock;
struct sk_buff {
	__u32 mark;
	int skb_iif;
	struct sock *sk;
} __attribute__((preserve_access_index));

struct nf_hook_state {
	__u8 hook;
	__u8 pf;
} __attribute__((preserve_access_index));

struct bpf_nf_ctx {
	const struct nf_hook_state *state;
	struct sk_buff *skb;
};

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags,
			       struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *ptr, __u32 offset,
			      void *buffer, __u32 buffer__szk) __ksym;

struct key4 {
	__u32 len;
	__u8 addr[4];
};

struct key6 {
	__u32 len;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct key4);
	__type(value, __u8);
} peers4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct key6);
	__type(value, __u8);
} peers6 SEC(".maps");

/* Local ports of listeners that require AO (host byte order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

/* [0] the tcpao mark, written once by tcpaod before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

/* Drops: [0] egress unsigned, [1] ingress from a peer, [2] ingress kind 29
 * from anyone else, [3] ingress to a port that requires AO. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static int drop(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &why);

	if (n)
		(*n)++;
	return NF_DROP;
}

static bool marked(const struct sk_buff *skb)
{
	__u32 zero = 0, *m = bpf_map_lookup_elem(&config, &zero);

	/* No mark configured yet: nothing passes unseen. */
	return m && *m && (skb->mark & *m) == *m;
}

/* Does the TCP header at off carry a kind-29 option? Walked as the
 * kernel walks options, stopping at EOL or at a malformed length; byte by
 * byte through a small state machine, which the verifier follows. */
static bool has_ao(const struct bpf_dynptr *p, __u32 off)
{
	__u8 th[20], opt[40];
	__u8 *t = bpf_dynptr_slice(p, off, th, sizeof(th));
	__u32 olen, left = 0;
	int at = 0; /* 0: kind, 1: length, 2: body */

	if (!t)
		return false;
	olen = (__u32)(t[12] >> 4) * 4;
	if (olen <= 20)
		return false;
	olen -= 20;
	if (bpf_dynptr_read(opt, olen & 63, p, off + 20, 0))
		return false;
	for (__u32 j = 0; j < sizeof(opt) && j < olen; j++) {
		__u8 c = opt[j];

		if (at == 0) {
			if (c == 0)
				break;
			if (c == 29)
				return true;
			at = c == 1 ? 0 : 1;
		} else if (at == 1) {
			if (c < 2)
				break;
			left = c - 2u;
			at = left ? 2 : 0;
		} else if (--left == 0) {
			at = 0;
		}
	}
	return false;
}

static bool to_required_port(const struct bpf_dynptr *p, __u32 off)
{
	__u8 buf[4];
	__u8 *t = bpf_dynptr_slice(p, off, buf, sizeof(buf));
	__u16 port;

	if (!t)
		return false;
	port = (__u16)(t[2] << 8 | t[3]);
	return bpf_map_lookup_elem(&ports, &port) != NULL;
}

/* Where the TCP header of an IPv4 packet starts, or 0 if not TCP. The
 * address we look up (remote) is copied to key. */
static __u32 tcp4(const struct bpf_dynptr *p, bool ingress, struct key4 *key)
{
	__u8 buf[20];
	__u8 *ip = bpf_dynptr_slice(p, 0, buf, sizeof(buf));

	if (!ip || ip[9] != 6)
		return 0;
	__builtin_memcpy(key->addr, ip + (ingress ? 12 : 16), 4);
	key->len = 32;
	/* A later fragment has no TCP header: judged by its address alone. */
	if ((ip[6] & 0x1f) || ip[7])
		return 1;
	return (__u32)(ip[0] & 0x0f) * 4;
}

/* Same for IPv6, through hop-by-hop, routing, destination options and AH.
 * A chain too long to walk gives TH_UNKNOWN: it may hide a TCP header. */
#define TH_UNKNOWN 2
static __u32 tcp6(const struct bpf_dynptr *p, bool ingress, struct key6 *key)
{
	__u8 buf[40], eb[8];
	__u8 *ip = bpf_dynptr_slice(p, 0, buf, sizeof(buf));
	__u32 off = 40;
	__u8 next;

	if (!ip)
		return 0;
	next = ip[6];
	__builtin_memcpy(key->addr, ip + (ingress ? 8 : 24), 16);
	key->len = 128;
	for (int n = 0; n < 8; n++) {
		__u8 *e;

		if (next == 6)
			return off;
		if (next == 44)
			return 1; /* a fragment: by its address alone */
		if (next != 0 && next != 43 && next != 60 && next != 51)
			return 0;
		e = bpf_dynptr_slice(p, off, eb, sizeof(eb));
		if (!e)
			return TH_UNKNOWN;
		off += next == 51 ? ((__u32)e[1] + 2) * 4 : ((__u32)e[1] + 1) * 8;
		next = e[0];
	}
	return next == 6 ? off : TH_UNKNOWN;
}

SEC("netfilter")
int tcpao_guard(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	bool ingress = ctx->state->hook == NF_INET_LOCAL_IN;
	struct bpf_dynptr p;
	struct key4 k4;
	struct key6 k6;
	bool peer;
	__u32 th;

	if (marked(skb))
		return NF_ACCEPT;
	/* Egress: forwarded traffic is not ours (a router may carry it). */
	if (!ingress && !skb->sk && skb->skb_iif)
		return NF_ACCEPT;
	if (bpf_dynptr_from_skb((struct __sk_buff *)skb, 0, &p))
		return NF_ACCEPT;
	if (ctx->state->pf == NFPROTO_IPV4) {
		th = tcp4(&p, ingress, &k4);
		peer = th && bpf_map_lookup_elem(&peers4, &k4);
	} else {
		th = tcp6(&p, ingress, &k6);
		peer = th && bpf_map_lookup_elem(&peers6, &k6);
	}
	if (!th)
		return NF_ACCEPT;
	if (peer)
		return drop(ingress ? 1 : 0);
	/* Ingress: a TCP header we cannot reach may carry kind 29. */
	if (ingress && th == TH_UNKNOWN)
		return drop(2);
	if (ingress && th > TH_UNKNOWN && has_ao(&p, th))
		return drop(2);
	if (ingress && th > TH_UNKNOWN && to_required_port(&p, th))
		return drop(3);
	return NF_ACCEPT;
}

char _license[] SEC("license") = "GPL";
