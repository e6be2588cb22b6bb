// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao.conf parser: words, quoted strings, '{', '}', ';' and '#' comments.
 * A peer block is read whole, then becomes one policy entry. Every buffer a
 * secret passed through is wiped before it is freed or reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "keychain.h"
#include "l3mdev.h"
#include "mark.h"
#include "secret.h"

#define TOKEN_MAX 512
#define STMT_ARGS_MAX 32
#define BLOCK_KEYS_MAX 64

enum token { T_EOF, T_WORD, T_LBRACE, T_RBRACE, T_SEMI, T_ERROR };

struct parser {
	const char *p, *end;
	const char *name; /* file name for messages */
	const char *dir;  /* for relative secret files */
	unsigned line;
	unsigned tok_line;
	char word[TOKEN_MAX];
	bool inline_secret;
	bool in_chain; /* inside a key-chain block */
	char *err;
	size_t errlen;
	struct policy *policy;
};

static int fail_at(struct parser *ps, unsigned line, int rc, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s:%u: %s", ps->name, line, msg);
	return rc;
}

/* ---- lexer ------------------------------------------------------------- */

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else {
			return;
		}
	}
}

static enum token lex_quoted(struct parser *ps)
{
	size_t n = 0;

	for (ps->p++; ps->p < ps->end; ps->p++) {
		char c = *ps->p;

		if (c == '"') {
			ps->p++;
			ps->word[n] = '\0';
			return T_WORD;
		}
		if (c == '\n' || c == '\0')
			break;
		if (c == '\\' && ps->p + 1 < ps->end &&
		    (ps->p[1] == '"' || ps->p[1] == '\\'))
			c = *++ps->p;
		if (n + 1 == TOKEN_MAX) {
			fail_at(ps, ps->tok_line, -EINVAL, "quoted string too long");
			return T_ERROR;
		}
		ps->word[n++] = c;
	}
	fail_at(ps, ps->tok_line, -EINVAL, "unterminated quoted string");
	return T_ERROR;
}

static bool is_word_char(char c)
{
	return c > ' ' && c != '{' && c != '}' && c != ';' && c != '#' &&
	       c != '"' && c != 0x7f;
}

static enum token lex(struct parser *ps)
{
	size_t n = 0;
	char c;

	explicit_bzero(ps->word, sizeof(ps->word));
	skip_space(ps);
	ps->tok_line = ps->line;
	if (ps->p >= ps->end)
		return T_EOF;
	c = *ps->p;
	switch (c) {
	case '{': ps->p++; return T_LBRACE;
	case '}': ps->p++; return T_RBRACE;
	case ';': ps->p++; return T_SEMI;
	case '"': return lex_quoted(ps);
	}
	if (!is_word_char(c)) {
		fail_at(ps, ps->line, -EINVAL, "unexpected byte 0x%02x", (unsigned char)c);
		return T_ERROR;
	}
	while (ps->p < ps->end && is_word_char(*ps->p)) {
		if (n + 1 == TOKEN_MAX) {
			fail_at(ps, ps->tok_line, -EINVAL, "word too long");
			return T_ERROR;
		}
		ps->word[n++] = *ps->p++;
	}
	ps->word[n] = '\0';
	return T_WORD;
}

/* ---- statements -------------------------------------------------------- */

/* One "name arg arg ;" statement inside a peer block. */
struct stmt {
	unsigned line;
	int argc;
	char argv[STMT_ARGS_MAX][TOKEN_MAX];
};

struct block {
	unsigned line;
	struct policy_scope scope;
	bool has_local, has_lport, has_rport, has_required, has_icmps;
	bool ao_required, accept_icmps;
	int current_sndid, rnext_rcvid;
	unsigned current_line, rnext_line;
	size_t nkeys;
	struct tcpao_mkt keys[BLOCK_KEYS_MAX];
	unsigned key_lines[BLOCK_KEYS_MAX];
	char chain[KEYCHAIN_NAME_MAX]; /* key-chain NAME, "" for none */
	unsigned chain_line;
};

/* A word fit to quote in a message: short, lower case, no secret-like. */
static const char *quotable(const char *word)
{
	size_t n = strlen(word);

	if (n > 20 || strspn(word, "abcdefghijklmnopqrstuvwxyz-") != n)
		return "?";
	return word;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -EINVAL : 0;
}

static int parse_bool(struct parser *ps, const struct stmt *st, bool *out)
{
	if (st->argc != 2)
		return fail_at(ps, st->line, -EINVAL, "%s: expected yes or no", st->argv[0]);
	if (!strcmp(st->argv[1], "yes") || !strcmp(st->argv[1], "on") ||
	    !strcmp(st->argv[1], "true"))
		*out = true;
	else if (!strcmp(st->argv[1], "no") || !strcmp(st->argv[1], "off") ||
		 !strcmp(st->argv[1], "false"))
		*out = false;
	else
		return fail_at(ps, st->line, -EINVAL, "%s: expected yes or no, not '%s'",
			       st->argv[0], quotable(st->argv[1]));
	return 0;
}

static int once(struct parser *ps, const struct stmt *st, bool *seen)
{
	if (*seen)
		return fail_at(ps, st->line, -EINVAL, "'%s' given twice in one peer block", st->argv[0]);
	*seen = true;
	return 0;
}

static int stmt_local(struct parser *ps, const struct stmt *st, struct block *b)
{
	int rc = once(ps, st, &b->has_local);

	if (rc)
		return rc;
	if (st->argc != 2 ||
	    tcpao_addr_parse(st->argv[1], &b->scope.local, &b->scope.local_len))
		return fail_at(ps, st->line, -EINVAL, "local: expected an address or prefix");
	return 0;
}

static int stmt_port(struct parser *ps, const struct stmt *st, bool *seen,
		     uint16_t *port)
{
	unsigned long v;
	int rc = once(ps, st, seen);

	if (rc)
		return rc;
	if (st->argc != 2 || parse_uint(st->argv[1], 1, 65535, &v))
		return fail_at(ps, st->line, -EINVAL, "%s: expected a port 1-65535", st->argv[0]);
	*port = (uint16_t)v;
	return 0;
}

static int stmt_keyid(struct parser *ps, const struct stmt *st, int *id,
		      unsigned *line)
{
	unsigned long v;

	if (*id >= 0)
		return fail_at(ps, st->line, -EINVAL, "'%s' given twice in one peer block", st->argv[0]);
	if (st->argc != 2 || parse_uint(st->argv[1], 0, 255, &v))
		return fail_at(ps, st->line, -EINVAL, "%s: expected a key id 0-255", st->argv[0]);
	*id = (int)v;
	*line = st->line;
	return 0;
}

/* "dir/name" for a relative secret file. */
static int secret_path(struct parser *ps, const char *file, char *path, size_t len)
{
	int n;

	if (file[0] == '/' || !ps->dir)
		n = snprintf(path, len, "%s", file);
	else
		n = snprintf(path, len, "%s/%s", ps->dir, file);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int key_secret(struct parser *ps, const struct stmt *st, const char *what,
		      const char *value, struct tcpao_mkt *mkt)
{
	char why[200], path[PATH_MAX];
	int rc;

	if (!strcmp(what, "secret")) {
		ps->inline_secret = true;
		rc = tcpao_secret_parse(value, mkt->key, &mkt->keylen, why, sizeof(why));
	} else if (secret_path(ps, value, path, sizeof(path))) {
		return fail_at(ps, st->line, -ENAMETOOLONG, "secret-file: path too long");
	} else {
		rc = tcpao_secret_file_read(path, mkt->key, &mkt->keylen, why, sizeof(why));
	}
	return rc ? fail_at(ps, st->line, rc, "key: %s", why) : 0;
}

static int key_attr(struct parser *ps, const struct stmt *st, int *i,
		    struct tcpao_mkt *mkt, unsigned *seen)
{
	const char *a = st->argv[*i];
	const char *v = *i + 1 < st->argc ? st->argv[*i + 1] : NULL;
	unsigned long n;

	/* RFC 8177's names for the two ids. */
	if (!strcmp(a, "send-id"))
		a = "sndid";
	else if (!strcmp(a, "recv-id"))
		a = "rcvid";

	if (!strcmp(a, "exclude-options")) {
		mkt->flags |= TCPAO_MKT_EXCLUDE_OPT;
		return 0;
	}
	if (!strcmp(a, "sndid") || !strcmp(a, "rcvid") || !strcmp(a, "id") ||
	    !strcmp(a, "alg") || !strcmp(a, "secret") || !strcmp(a, "secret-file") ||
	    !strcmp(a, "maclen") || !strcmp(a, "ifindex") || !strcmp(a, "vrf")) {
		if (!v)
			return fail_at(ps, st->line, -EINVAL, "key: '%s' needs a value", a);
		(*i)++;
	} else if (*i >= 2 && !strcmp(st->argv[*i - 2], "secret")) {
		/* Likely the rest of an unquoted secret: do not echo it. */
		return fail_at(ps, st->line, -EINVAL,
			       "key: unknown attribute after the secret (quote a secret that has spaces)");
	} else {
		return fail_at(ps, st->line, -EINVAL,
			       "key: unknown attribute '%s' (sndid, rcvid, id, alg, secret, secret-file, maclen, exclude-options, ifindex, vrf%s)",
			       quotable(a), ps->in_chain ? ", send-lifetime, accept-lifetime, lifetime" : "");
	}
	if (!strcmp(a, "sndid")) {
		if (parse_uint(v, 0, 255, &n))
			return fail_at(ps, st->line, -EINVAL, "key: sndid must be 0-255");
		mkt->sndid = (uint8_t)n, *seen |= 1;
	} else if (!strcmp(a, "rcvid") || !strcmp(a, "id")) {
		if (parse_uint(v, 0, 255, &n))
			return fail_at(ps, st->line, -EINVAL, "key: %s must be 0-255", a);
		if (a[0] == 'i')
			mkt->sndid = (uint8_t)n, *seen |= 1;
		mkt->rcvid = (uint8_t)n, *seen |= 2;
	} else if (!strcmp(a, "alg")) {
		char two[64];

		/* BIRD's two words: alg hmac sha1, alg cmac aes128 */
		if ((!strcasecmp(v, "hmac") || !strcasecmp(v, "cmac")) && *i + 1 < st->argc &&
		    snprintf(two, sizeof(two), "%s %s", v, st->argv[*i + 1]) < (int)sizeof(two) &&
		    !tcpao_alg_parse(two, &mkt->alg))
			(*i)++;
		else if (tcpao_alg_parse(v, &mkt->alg))
			return fail_at(ps, st->line, -ENOENT,
				       "key: unknown algorithm '%.40s' (" TCPAO_ALG_HINT ")", v);
		*seen |= 4;
	} else if (!strcmp(a, "maclen")) {
		if (parse_uint(v, 1, 255, &n))
			return fail_at(ps, st->line, -EINVAL, "key: maclen must be 1-%d", TCPAO_MAX_MACLEN);
		mkt->maclen = (uint8_t)n;
	} else if (!strcmp(a, "ifindex")) {
		if (parse_uint(v, 1, INT_MAX, &n))
			return fail_at(ps, st->line, -EINVAL, "key: ifindex must be a positive number");
		mkt->ifindex = (int)n;
		mkt->flags |= TCPAO_MKT_IFINDEX;
	} else if (!strcmp(a, "vrf")) {
		/* Resolved now: a VRF made later needs a reload. */
		unsigned int ifx = if_nametoindex(v);

		if (!ifx)
			return fail_at(ps, st->line, -ENODEV, "key: vrf '%s': no such device", quotable(v));
		/* As Linux refuses an ifindex that is no L3 master device. */
		if (l3mdev_master_ifindex((int)ifx) != (int)ifx)
			return fail_at(ps, st->line, -ENODEV, "key: vrf '%s' is not a VRF device", quotable(v));
		mkt->ifindex = (int)ifx;
		mkt->flags |= TCPAO_MKT_IFINDEX;
	} else {
		if (*seen & 8)
			return fail_at(ps, st->line, -EINVAL, "key: give one secret or secret-file");
		*seen |= 8;
		return key_secret(ps, st, a, v, mkt);
	}
	return 0;
}

static int key_check(struct parser *ps, const struct stmt *st, unsigned seen,
		     struct tcpao_mkt *mkt)
{
	int rc;

	if ((seen & 3) != 3)
		return fail_at(ps, st->line, -EINVAL, "key: sndid and rcvid (or id) are required");
	if (!(seen & 4))
		return fail_at(ps, st->line, -EINVAL, "key: alg is required");
	if (!(seen & 8))
		return fail_at(ps, st->line, -EINVAL, "key: secret or secret-file is required");
	rc = tcpao_mkt_check(mkt);
	if (rc == -EMSGSIZE)
		return fail_at(ps, st->line, rc, "key: maclen %u is longer than %s allows (%zu)",
			       mkt->maclen, tcpao_alg_name(mkt->alg),
			       tcpao_alg_digest_len(mkt->alg) < TCPAO_TCP_OPTSPACE - TCPAO_OPT_HDRLEN ?
			       tcpao_alg_digest_len(mkt->alg) : (size_t)(TCPAO_TCP_OPTSPACE - TCPAO_OPT_HDRLEN));
	if (rc)
		return fail_at(ps, st->line, rc, "key: invalid key");
	return 0;
}

static int stmt_key(struct parser *ps, const struct stmt *st, struct block *b)
{
	struct tcpao_mkt *mkt;
	unsigned seen = 0;
	int rc = 0;

	if (b->nkeys == BLOCK_KEYS_MAX)
		return fail_at(ps, st->line, -E2BIG, "more than %d keys in one peer block", BLOCK_KEYS_MAX);
	mkt = &b->keys[b->nkeys];
	memset(mkt, 0, sizeof(*mkt));
	for (int i = 1; i < st->argc && !rc; i++)
		rc = key_attr(ps, st, &i, mkt, &seen);
	if (!rc)
		rc = key_check(ps, st, seen, mkt);
	if (rc) {
		tcpao_mkt_wipe(mkt);
		return rc;
	}
	b->key_lines[b->nkeys++] = st->line;
	return 0;
}

static bool good_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < KEYCHAIN_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int stmt_chain_ref(struct parser *ps, const struct stmt *st, struct block *b)
{
	if (b->chain[0])
		return fail_at(ps, st->line, -EINVAL, "'key-chain' given twice in one peer block");
	if (st->argc != 2 || !good_name(st->argv[1]))
		return fail_at(ps, st->line, -EINVAL, "key-chain: expected a chain name (letters, digits, '_', '.', '-')");
	if (!keychains_find(ps->policy->chains, st->argv[1], NULL))
		return fail_at(ps, st->line, -ENOENT, "key-chain %s: not defined (define a chain before the peers that use it)",
			       st->argv[1]);
	snprintf(b->chain, sizeof(b->chain), "%s", st->argv[1]);
	b->chain_line = st->line;
	return 0;
}

static int run_stmt(struct parser *ps, const struct stmt *st, struct block *b)
{
	const char *name = st->argv[0];

	if (!strcmp(name, "key"))
		return stmt_key(ps, st, b);
	if (!strcmp(name, "local"))
		return stmt_local(ps, st, b);
	if (!strcmp(name, "local-port"))
		return stmt_port(ps, st, &b->has_lport, &b->scope.local_port);
	if (!strcmp(name, "remote-port"))
		return stmt_port(ps, st, &b->has_rport, &b->scope.remote_port);
	if (!strcmp(name, "ao-required"))
		return once(ps, st, &b->has_required) ?: parse_bool(ps, st, &b->ao_required);
	if (!strcmp(name, "accept-icmps"))
		return once(ps, st, &b->has_icmps) ?: parse_bool(ps, st, &b->accept_icmps);
	if (!strcmp(name, "current-key"))
		return stmt_keyid(ps, st, &b->current_sndid, &b->current_line);
	if (!strcmp(name, "rnext-key"))
		return stmt_keyid(ps, st, &b->rnext_rcvid, &b->rnext_line);
	if (!strcmp(name, "key-chain"))
		return stmt_chain_ref(ps, st, b);
	return fail_at(ps, st->line, -EINVAL,
		       "unknown statement '%s' (local, local-port, remote-port, ao-required, accept-icmps, key, key-chain, current-key, rnext-key)",
		       quotable(name));
}

/* Reads words up to ';'. The first word is already in ps->word. */
static int read_stmt(struct parser *ps, struct stmt *st)
{
	enum token t = T_WORD;

	st->line = ps->tok_line;
	st->argc = 0;
	while (t == T_WORD) {
		if (st->argc == STMT_ARGS_MAX)
			return fail_at(ps, st->line, -E2BIG, "statement has too many words");
		memcpy(st->argv[st->argc++], ps->word, TOKEN_MAX);
		t = lex(ps);
	}
	if (t == T_ERROR)
		return -EINVAL;
	if (t != T_SEMI)
		return fail_at(ps, st->line, -EINVAL, "missing ';' after '%s' statement",
			       quotable(st->argv[0]));
	return 0;
}

/* ---- peer blocks ------------------------------------------------------- */

static bool block_has_key(const struct block *b, int sndid, int rcvid)
{
	for (size_t i = 0; i < b->nkeys; i++)
		if ((sndid < 0 || b->keys[i].sndid == sndid) &&
		    (rcvid < 0 || b->keys[i].rcvid == rcvid))
			return true;
	return false;
}

/* Every key of the chain is added, so clashes show here with a line;
 * the schedule (rollover.h) then keeps only the accept-valid ones. */
static int commit_chain_ref(struct parser *ps, struct block *b,
			    struct policy_peer *peer)
{
	size_t idx;
	const struct keychain *c = keychains_find(ps->policy->chains, b->chain, &idx);
	struct policy_scope scope = peer->scope;
	char err[200];
	int rc;

	peer->chain = (unsigned)idx + 1;
	for (size_t i = 0; i < c->n; i++) {
		rc = policy_add_key_from(ps->policy, &scope, &c->keys[i].mkt,
					 POLICY_FROM_FILE, false, false, err, sizeof(err));
		if (rc)
			return fail_at(ps, b->chain_line, rc, "key-chain %s key %llu: %s",
				       c->name, (unsigned long long)c->keys[i].id, err);
	}
	return 0;
}

static int commit_block(struct parser *ps, struct block *b)
{
	char origin[96], err[200], text[64];
	const struct policy_peer *found;
	struct policy_peer *peer;
	int rc;

	if (b->chain[0] && (b->current_sndid >= 0 || b->rnext_rcvid >= 0))
		return fail_at(ps, b->current_sndid >= 0 ? b->current_line : b->rnext_line,
			       -EINVAL, "current-key and rnext-key cannot be used with a key-chain (its schedule picks the key)");
	if (b->current_sndid >= 0 && !block_has_key(b, b->current_sndid, -1))
		return fail_at(ps, b->current_line, -ENOENT, "current-key %d: no key with that sndid in this peer block", b->current_sndid);
	if (b->rnext_rcvid >= 0 && !block_has_key(b, -1, b->rnext_rcvid))
		return fail_at(ps, b->rnext_line, -ENOENT, "rnext-key %d: no key with that rcvid in this peer block", b->rnext_rcvid);
	found = policy_peer_find(ps->policy, &b->scope);
	if (found)
		return fail_at(ps, b->line, -EEXIST, "peer %s is already defined at %s",
			       policy_prefix_str(&found->scope.peer, found->scope.peer_len, text, sizeof(text)),
			       found->origin);
	snprintf(origin, sizeof(origin), "%s:%u", ps->name, b->line);
	peer = policy_peer_get(ps->policy, &b->scope, origin, &rc, err, sizeof(err));
	if (!peer)
		return fail_at(ps, b->line, rc, "%s", err);
	peer->ao_required = b->has_required ? b->ao_required : true;
	peer->accept_icmps = b->has_icmps && b->accept_icmps;
	peer->current_sndid = b->current_sndid;
	peer->rnext_rcvid = b->rnext_rcvid;
	for (size_t i = 0; i < b->nkeys; i++) {
		rc = policy_add_key_from(ps->policy, &peer->scope, &b->keys[i],
					 POLICY_FROM_FILE, false, false, err, sizeof(err));
		if (rc)
			return fail_at(ps, b->key_lines[i], rc, "key: %s", err);
	}
	return b->chain[0] ? commit_chain_ref(ps, b, peer) : 0;
}

static int parse_block(struct parser *ps, struct block *b, struct stmt *st)
{
	enum token t;
	int rc;

	if (lex(ps) != T_WORD ||
	    tcpao_addr_parse(ps->word, &b->scope.peer, &b->scope.peer_len))
		return fail_at(ps, b->line, -EINVAL, "peer: expected an address or prefix after 'peer'");
	if (lex(ps) != T_LBRACE)
		return fail_at(ps, b->line, -EINVAL, "peer: expected '{' after the prefix");
	for (;;) {
		t = lex(ps);
		if (t == T_RBRACE)
			return commit_block(ps, b);
		if (t == T_EOF)
			return fail_at(ps, ps->line, -EINVAL, "missing '}' for the peer block opened at line %u", b->line);
		if (t == T_ERROR)
			return -EINVAL;
		if (t != T_WORD)
			return fail_at(ps, ps->tok_line, -EINVAL, "expected a statement");
		rc = read_stmt(ps, st);
		if (!rc)
			rc = run_stmt(ps, st, b);
		explicit_bzero(st, sizeof(*st));
		if (rc)
			return rc;
	}
}

/* ---- key-chain blocks -------------------------------------------------- */

/* "always" | START [END | infinite | duration D]: args from argv[*i + 1]. */
static int parse_window(struct parser *ps, const struct stmt *st, int *i,
			struct keychain_window *w)
{
	const char *what = st->argv[*i];
	int64_t d;

	if (*i + 1 >= st->argc)
		return fail_at(ps, st->line, -EINVAL, "key: %s needs a start time or 'always'", what);
	(*i)++;
	w->end = KEYCHAIN_NEVER;
	if (!strcmp(st->argv[*i], "always")) {
		w->start = KEYCHAIN_ALWAYS;
		return 0;
	}
	if (keychain_parse_time(st->argv[*i], &w->start))
		return fail_at(ps, st->line, -EINVAL,
			       "key: %s: '%.32s' is not a time (2026-12-02T08:00:00Z or unix seconds) nor 'always'",
			       what, st->argv[*i]);
	if (*i + 1 >= st->argc)
		return 0;
	if (!strcmp(st->argv[*i + 1], "infinite")) {
		(*i)++;
		return 0;
	}
	if (!strcmp(st->argv[*i + 1], "duration")) {
		if (*i + 2 >= st->argc || keychain_parse_duration(st->argv[*i + 2], &d))
			return fail_at(ps, st->line, -EINVAL, "key: %s: duration needs seconds (or 30m, 12h, 7d, 2w)", what);
		*i += 2;
		w->end = w->start + d;
	} else if (!keychain_parse_time(st->argv[*i + 1], &w->end)) {
		(*i)++;
	}
	if (w->end <= w->start)
		return fail_at(ps, st->line, -EINVAL, "key: %s ends before it starts", what);
	return 0;
}

static int chain_key_attr(struct parser *ps, const struct stmt *st, int *i,
			  struct keychain_key *k, unsigned *seen, bool *has_id)
{
	const char *a = st->argv[*i];
	unsigned long long n;
	char *end;
	int rc;

	if (!strcmp(a, "send-lifetime"))
		return parse_window(ps, st, i, &k->send);
	if (!strcmp(a, "accept-lifetime"))
		return parse_window(ps, st, i, &k->accept);
	if (!strcmp(a, "lifetime")) {
		rc = parse_window(ps, st, i, &k->send);
		k->accept = k->send;
		return rc;
	}
	if (strcmp(a, "id"))
		return key_attr(ps, st, i, &k->mkt, seen);
	/* In a chain, "id" names the key (RFC 8177 key-id); it is also
	 * the send and receive id unless send-id / recv-id say otherwise. */
	errno = 0;
	n = *i + 1 < st->argc ? strtoull(st->argv[*i + 1], &end, 10) : 0;
	if (*i + 1 >= st->argc || errno || *end || st->argv[*i + 1][0] < '0' ||
	    st->argv[*i + 1][0] > '9')
		return fail_at(ps, st->line, -EINVAL, "key: id needs a number");
	(*i)++;
	k->id = n;
	*has_id = true;
	return 0;
}

/* Keys bound to two different VRFs never meet: they may share ids. */
static bool in_other_vrfs(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	return (a->flags & TCPAO_MKT_IFINDEX) && (b->flags & TCPAO_MKT_IFINDEX) &&
	       a->ifindex != b->ifindex;
}

static int chain_key_check(struct parser *ps, const struct stmt *st,
			   const struct keychain *c, struct keychain_key *k,
			   unsigned seen)
{
	for (size_t j = 0; j < c->n; j++) {
		if (c->keys[j].id == k->id)
			return fail_at(ps, st->line, -EEXIST, "key-chain %s: key id %llu given twice",
				       c->name, (unsigned long long)k->id);
		if (in_other_vrfs(&c->keys[j].mkt, &k->mkt))
			continue;
		if (c->keys[j].mkt.sndid == k->mkt.sndid || c->keys[j].mkt.rcvid == k->mkt.rcvid)
			return fail_at(ps, st->line, -EEXIST, "key-chain %s: key %llu reuses the send-id or recv-id of key %llu",
				       c->name, (unsigned long long)k->id,
				       (unsigned long long)c->keys[j].id);
	}
	return key_check(ps, st, seen, &k->mkt);
}

static int chain_key(struct parser *ps, const struct stmt *st, size_t ci)
{
	struct keychain *c = &ps->policy->chains->v[ci];
	struct keychain_key *k;
	bool has_id = false;
	unsigned seen = 0;
	int rc = 0;

	if (c->n == KEYCHAIN_KEYS_MAX)
		return fail_at(ps, st->line, -E2BIG, "more than %d keys in one key-chain", KEYCHAIN_KEYS_MAX);
	k = &c->keys[c->n];
	memset(k, 0, sizeof(*k));
	k->send = k->accept = (struct keychain_window){ KEYCHAIN_ALWAYS, KEYCHAIN_NEVER };
	k->line = st->line;
	for (int i = 1; i < st->argc && !rc; i++)
		rc = chain_key_attr(ps, st, &i, k, &seen, &has_id);
	if (!rc && !has_id)
		rc = fail_at(ps, st->line, -EINVAL, "key: a key-chain's key needs 'id N'");
	if (!rc && k->id > 255 && (seen & 3) != 3)
		rc = fail_at(ps, st->line, -EINVAL, "key: id %llu is above 255: give send-id and recv-id",
			     (unsigned long long)k->id);
	if (!rc && !(seen & 1))
		k->mkt.sndid = (uint8_t)k->id, seen |= 1;
	if (!rc && !(seen & 2))
		k->mkt.rcvid = (uint8_t)k->id, seen |= 2;
	if (!rc)
		rc = chain_key_check(ps, st, c, k, seen);
	if (rc) {
		explicit_bzero(k, sizeof(*k));
		return rc;
	}
	c->n++;
	return 0;
}

static int chain_stmt(struct parser *ps, const struct stmt *st, size_t ci)
{
	struct keychain *c = &ps->policy->chains->v[ci];

	if (!strcmp(st->argv[0], "key"))
		return chain_key(ps, st, ci);
	if (!strcmp(st->argv[0], "accept-tolerance")) {
		if (st->argc != 2 || keychain_parse_duration(st->argv[1], &c->tolerance))
			return fail_at(ps, st->line, -EINVAL, "accept-tolerance: expected seconds (or 5m, 1h)");
		return 0;
	}
	if (!strcmp(st->argv[0], "rollover")) {
		if (st->argc != 2 || (strcmp(st->argv[1], "scheduled") && strcmp(st->argv[1], "confirmed")))
			return fail_at(ps, st->line, -EINVAL, "rollover: expected scheduled or confirmed");
		c->confirmed = st->argv[1][0] == 'c';
		return 0;
	}
	return fail_at(ps, st->line, -EINVAL, "unknown statement '%s' in a key-chain (key, accept-tolerance, rollover)",
		       quotable(st->argv[0]));
}

static int open_chain(struct parser *ps, size_t *ci)
{
	unsigned line = ps->tok_line;
	struct keychain *c;

	if (lex(ps) != T_WORD || !good_name(ps->word))
		return fail_at(ps, line, -EINVAL, "key-chain: expected a name (letters, digits, '_', '.', '-')");
	if (keychains_find(ps->policy->chains, ps->word, NULL))
		return fail_at(ps, line, -EEXIST, "key-chain %s: defined twice", ps->word);
	if (!ps->policy->chains)
		ps->policy->chains = keychains_new();
	c = ps->policy->chains ? keychains_add(ps->policy->chains, ps->word) : NULL;
	if (!c)
		return fail_at(ps, line, -ENOMEM, "out of memory");
	c->line = line;
	*ci = ps->policy->chains->n - 1;
	if (lex(ps) != T_LBRACE)
		return fail_at(ps, line, -EINVAL, "key-chain: expected '{' after the name");
	return 0;
}

static int parse_chain(struct parser *ps, struct stmt *st)
{
	unsigned line = ps->tok_line;
	size_t ci = 0;
	enum token t;
	int rc = open_chain(ps, &ci);

	ps->in_chain = true;
	while (!rc) {
		t = lex(ps);
		if (t == T_RBRACE)
			break;
		if (t == T_EOF)
			rc = fail_at(ps, ps->line, -EINVAL, "missing '}' for the key-chain opened at line %u", line);
		else if (t == T_ERROR)
			rc = -EINVAL;
		else if (t != T_WORD)
			rc = fail_at(ps, ps->tok_line, -EINVAL, "expected a statement");
		else
			rc = read_stmt(ps, st) ?: chain_stmt(ps, st, ci);
		explicit_bzero(st, sizeof(*st));
	}
	ps->in_chain = false;
	return rc;
}

/* "mark VALUE;": the daemon's packet mark (mark.h), for the whole file. */
static int parse_mark(struct parser *ps, struct stmt *st)
{
	int rc = read_stmt(ps, st);

	if (rc)
		return rc;
	if (ps->policy->mark)
		return fail_at(ps, st->line, -EINVAL, "'mark' given twice");
	if (st->argc != 2 || !mark_parse(st->argv[1], &ps->policy->mark))
		return fail_at(ps, st->line, -EINVAL,
			       "mark: expected one nonzero 32-bit value (0x... or decimal)");
	return 0;
}

static int parse_top(struct parser *ps, struct block *b, struct stmt *st)
{
	enum token t;
	int rc;

	while ((t = lex(ps)) != T_EOF) {
		if (t == T_ERROR)
			return -EINVAL;
		if (t == T_WORD && !strcmp(ps->word, "key-chain")) {
			rc = parse_chain(ps, st);
			if (rc)
				return rc;
			continue;
		}
		if (t == T_WORD && !strcmp(ps->word, "mark")) {
			rc = parse_mark(ps, st);
			if (rc)
				return rc;
			continue;
		}
		if (t != T_WORD || strcmp(ps->word, "peer"))
			return fail_at(ps, ps->tok_line, -EINVAL,
				       "expected 'peer PREFIX { ... }', 'key-chain NAME { ... }' or 'mark VALUE;'");
		memset(b, 0, sizeof(*b));
		b->line = ps->tok_line;
		b->current_sndid = b->rnext_rcvid = -1;
		rc = parse_block(ps, b, st);
		explicit_bzero(b, sizeof(*b));
		if (rc)
			return rc;
	}
	return 0;
}

static int parse(struct parser *ps, const char *text, size_t len)
{
	struct block *b = calloc(1, sizeof(*b));
	struct stmt *st = calloc(1, sizeof(*st));
	int rc = -ENOMEM;

	ps->p = text;
	ps->end = text + len;
	ps->line = 1;
	ps->policy = policy_new();
	if (b && st && ps->policy)
		rc = parse_top(ps, b, st);
	else
		fail_at(ps, 0, rc, "out of memory");
	if (b)
		explicit_bzero(b, sizeof(*b));
	if (st)
		explicit_bzero(st, sizeof(*st));
	explicit_bzero(ps->word, sizeof(ps->word));
	free(b);
	free(st);
	if (rc) {
		policy_free(ps->policy);
		ps->policy = NULL;
	}
	return rc;
}

int config_parse(const char *text, size_t len, const char *name,
		 const char *dir, struct policy **out, char *err, size_t errlen)
{
	struct parser ps = { .name = name, .dir = dir, .err = err, .errlen = errlen };
	int rc = parse(&ps, text, len);

	*out = ps.policy;
	return rc;
}

/* ---- files ------------------------------------------------------------- */

static int read_file(const char *path, char **text, size_t *len, struct stat *out,
		     char *err, size_t errlen)
{
	struct stat st;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_SIZE) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ?
			 "larger than 1 MiB" : "not a regular file");
		close(fd);
		return rc;
	}
	*out = st;
	*text = malloc((size_t)st.st_size + 1);
	if (*text)
		n = read(fd, *text, (size_t)st.st_size + 1);
	if (!*text || n < 0 || n > st.st_size) {
		rc = !*text ? -ENOMEM : n < 0 ? -errno : -EAGAIN;
		snprintf(err, errlen, "%s: %s", path, n > st.st_size ?
			 "changed while being read" : strerror(-rc));
		if (*text)
			explicit_bzero(*text, (size_t)st.st_size + 1);
		free(*text);
		*text = NULL;
	}
	close(fd);
	*len = (size_t)n;
	return rc;
}

static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Whoever can write the policy, or swap it in its directory, decides the
 * keys: only root (the daemon's own uid) may. */
static bool trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) &&
	       !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static int check_owner(const char *path, const struct stat *file, const char *dir,
		       char *err, size_t errlen)
{
	struct stat st;

	if (!trusted(file)) {
		snprintf(err, errlen, "%s: must be owned by root and writable by root alone "
			 "(owner %u, mode %03o): refusing it", path, (unsigned)file->st_uid,
			 (unsigned)(file->st_mode & 0777));
		return -EACCES;
	}
	if (stat(dir, &st) || !trusted(&st)) {
		snprintf(err, errlen, "%s: its directory %s must be owned by root and "
			 "writable by root alone: refusing it", path, dir);
		return -EACCES;
	}
	return 0;
}

int config_load(const char *path, struct policy **out, char *err, size_t errlen)
{
	struct parser ps = { .name = path, .err = err, .errlen = errlen };
	char dir[PATH_MAX], *text = NULL;
	struct stat st = { 0 };
	size_t len = 0;
	mode_t mode;
	int rc;

	*out = NULL;
	rc = read_file(path, &text, &len, &st, err, errlen);
	if (rc)
		return rc;
	mode = st.st_mode;
	dir_of(path, dir, sizeof(dir));
	ps.dir = dir;
	rc = check_owner(path, &st, dir, err, errlen);
	if (!rc)
		rc = parse(&ps, text, len);
	if (!rc && ps.inline_secret && (mode & S_IROTH)) {
		rc = -EACCES;
		snprintf(err, errlen,
			 "%s: holds secrets but is readable by others (mode %03o): chmod 600 it or use secret-file",
			 path, (unsigned)(mode & 0777));
		policy_free(ps.policy);
		ps.policy = NULL;
	}
	explicit_bzero(text, len);
	free(text);
	*out = ps.policy;
	return rc;
}
