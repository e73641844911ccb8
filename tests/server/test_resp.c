// SPDX-License-Identifier: MIT
/*
 * test_resp.c - unit tests of the RESP codec (hkv/resp.h) and of the command table through
 * hkv_server_call(), the in-process door hkvctl uses: requests parsed whole and byte by byte,
 * inline quoting, every protocol error and limit, the RESP2 and RESP3 encodings of every reply
 * type, the client-side reply parser, and commands run in-process with their exact reply bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "hkv/resp.h"
#include "hkv/server.h"
#include "testutil.h"

/* Parse all of @s as one request; the parser must say "complete" exactly at its end. */
static void parse_whole(struct hkv_resp_req *p, const char *s, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		hkv_resp_req_reset(p);
		assert_int_equal(hkv_resp_req_parse(p, s, i), 0);
	}
	hkv_resp_req_reset(p);
	assert_int_equal(hkv_resp_req_parse(p, s, n), 1);
	assert_int_equal(p->used, n);
}

static void test_multibulk(void **state)
{
	static const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$0\r\n\r\n";
	struct hkv_resp_req p;

	(void)state;
	hkv_resp_req_init(&p);
	parse_whole(&p, req, sizeof(req) - 1);
	assert_int_equal(p.argc, 3);
	assert_int_equal(p.argvlen[0], 3);
	assert_memory_equal(p.argv[0], "SET", 3);
	assert_int_equal(p.argvlen[1], 3);
	assert_memory_equal(p.argv[1], "k\0y", 3);
	assert_int_equal(p.argvlen[2], 0);
	hkv_resp_req_release(&p);
}

static void test_incremental(void **state)
{
	/* fed one byte at a time, as a slow client sends it, with a pipeline behind it */
	static const char req[] = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
	struct hkv_resp_req p;
	size_t n;
	int rc = 0;

	(void)state;
	hkv_resp_req_init(&p);
	for (n = 1; n <= sizeof(req) - 1; n++) {
		rc = hkv_resp_req_parse(&p, req, n);
		if (rc)
			break;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(p.used, 25);
	assert_int_equal(p.argc, 2);
	assert_memory_equal(p.argv[1], "hello", 5);
	hkv_resp_req_reset(&p);
	assert_int_equal(hkv_resp_req_parse(&p, req + 25, sizeof(req) - 1 - 25), 1);
	assert_int_equal(p.argc, 1);
	assert_memory_equal(p.argv[0], "PING", 4);
	hkv_resp_req_release(&p);
}

static void test_inline(void **state)
{
	static const char req[] = "SET \"a b\\x41\\n\" 'it\\'s'  plain\r\n";
	struct hkv_resp_req p;

	(void)state;
	hkv_resp_req_init(&p);
	parse_whole(&p, req, sizeof(req) - 1);
	assert_int_equal(p.argc, 4);
	assert_int_equal(p.argvlen[1], 5);
	assert_memory_equal(p.argv[1], "a bA\n", 5);
	assert_string_equal(p.argv[2], "it's");
	assert_string_equal(p.argv[3], "plain");
	/* an empty line is a request without arguments (skipped by the server) */
	hkv_resp_req_reset(&p);
	assert_int_equal(hkv_resp_req_parse(&p, "\r\n", 2), 1);
	assert_int_equal(p.argc, 0);
	hkv_resp_req_release(&p);
}

static void expect_error(const char *req, size_t n, bool unauth, const char *err)
{
	struct hkv_resp_req p;

	hkv_resp_req_init(&p);
	p.unauth = unauth;
	assert_int_equal(hkv_resp_req_parse(&p, req, n), -1);
	assert_string_equal(p.err, err);
	hkv_resp_req_release(&p);
}

static void test_errors(void **state)
{
	char big[HKV_RESP_INLINE_MAX + 16];

	(void)state;
	expect_error("*x\r\n", 4, false, "Protocol error: invalid multibulk length");
	expect_error("*99999999999\r\n", 14, false, "Protocol error: invalid multibulk length");
	expect_error("*1\r\nfoo\r\n", 9, false, "Protocol error: expected '$', got 'f'");
	expect_error("*1\r\n$-2\r\n", 9, false, "Protocol error: invalid bulk length");
	expect_error("*1\r\n$536870913\r\n", 16, false, "Protocol error: invalid bulk length");
	expect_error("SET \"a\r\n", 8, false, "Protocol error: unbalanced quotes in request");
	expect_error("*11\r\n", 5, true, "Protocol error: unauthenticated multibulk length");
	expect_error("*1\r\n$16385\r\n", 12, true, "Protocol error: unauthenticated bulk length");
	memset(big, 'a', sizeof(big));
	expect_error(big, sizeof(big), false, "Protocol error: too big inline request");
	big[0] = '*';
	expect_error(big, sizeof(big), false, "Protocol error: too big mbulk count string");
}

static void test_bulk_limit(void **state)
{
	struct hkv_resp_req p;

	(void)state;
	hkv_resp_req_init(&p);
	p.max_bulk = 1024 * 1024;
	assert_int_equal(hkv_resp_req_parse(&p, "*1\r\n$1048577\r\n", 15), -1);
	hkv_resp_req_release(&p);
	/* a large bulk announces how much buffer it needs */
	hkv_resp_req_init(&p);
	assert_int_equal(hkv_resp_req_parse(&p, "*1\r\n$100000\r\n", 13), 0);
	assert_true(p.need >= 13 + 100000 + 2);
	hkv_resp_req_release(&p);
}

static void expect_out(struct hkv_resp_out *o, const char *want)
{
	if (o->len != strlen(want) || memcmp(o->buf, want, o->len))
		fail_msg("got \"%.*s\", want \"%s\"", (int)o->len, o->buf, want);
	o->len = 0;
}

static void test_writer(void **state)
{
	struct hkv_resp_out o2, o3;
	size_t pos;

	(void)state;
	hkv_resp_out_init(&o2, 2);
	hkv_resp_out_init(&o3, 3);
	hkv_resp_null(&o2);
	expect_out(&o2, "$-1\r\n");
	hkv_resp_null(&o3);
	expect_out(&o3, "_\r\n");
	hkv_resp_null_array(&o2);
	expect_out(&o2, "*-1\r\n");
	hkv_resp_map(&o2, 2);
	expect_out(&o2, "*4\r\n");
	hkv_resp_map(&o3, 2);
	expect_out(&o3, "%2\r\n");
	hkv_resp_set(&o3, 1);
	expect_out(&o3, "~1\r\n");
	hkv_resp_push(&o3, 3);
	expect_out(&o3, ">3\r\n");
	hkv_resp_double(&o2, 1.5);
	expect_out(&o2, "$3\r\n1.5\r\n");
	hkv_resp_double(&o3, 1.5);
	expect_out(&o3, ",1.5\r\n");
	hkv_resp_double(&o3, -1.0 / 0.0);
	expect_out(&o3, ",-inf\r\n");
	hkv_resp_bool(&o2, true);
	expect_out(&o2, ":1\r\n");
	hkv_resp_bool(&o3, false);
	expect_out(&o3, "#f\r\n");
	hkv_resp_verbatim(&o3, "ab", 2, "txt");
	expect_out(&o3, "=6\r\ntxt:ab\r\n");
	hkv_resp_verbatim(&o2, "ab", 2, "txt");
	expect_out(&o2, "$2\r\nab\r\n");
	hkv_resp_error(&o2, "syntax error");
	expect_out(&o2, "-ERR syntax error\r\n");
	hkv_resp_error(&o2, "-WRONGTYPE bad\r\nline");
	expect_out(&o2, "-WRONGTYPE bad  line\r\n");
	hkv_resp_status(&o2, "OK");
	expect_out(&o2, "+OK\r\n");
	hkv_resp_int(&o2, -42);
	expect_out(&o2, ":-42\r\n");
	hkv_resp_bulk(&o2, "a\0b", 3);
	assert_int_equal(o2.len, 9);
	assert_memory_equal(o2.buf, "$3\r\na\0b\r\n", 9);
	o2.len = 0;
	/* an aggregate whose size is known only at the end */
	pos = hkv_resp_defer(&o3);
	hkv_resp_bulk_str(&o3, "f");
	hkv_resp_int(&o3, 1);
	hkv_resp_set_deferred(&o3, pos, '%', 1);
	expect_out(&o3, "%1\r\n$1\r\nf\r\n:1\r\n");
	pos = hkv_resp_defer(&o2);
	hkv_resp_set_deferred(&o2, pos, '%', 0);
	expect_out(&o2, "*0\r\n");
	hkv_resp_out_release(&o2);
	hkv_resp_out_release(&o3);
}

static void test_reader(void **state)
{
	static const char in[] = "%2\r\n+ok\r\n*3\r\n:1\r\n$-1\r\n,2.5\r\n$3\r\nabc\r\n#t\r\n"
				 "-ERR boom\r\n>2\r\n$7\r\nmessage\r\n_\r\n";
	struct hkv_resp_reader r;
	struct hkv_resp_value *v = NULL;

	(void)state;
	hkv_resp_reader_init(&r);
	/* nothing complete until the whole map arrived */
	assert_int_equal(hkv_resp_reader_feed(&r, in, 20), 0);
	assert_int_equal(hkv_resp_reader_next(&r, &v), 0);
	assert_int_equal(hkv_resp_reader_feed(&r, in + 20, sizeof(in) - 1 - 20), 0);
	assert_int_equal(hkv_resp_reader_next(&r, &v), 1);
	assert_int_equal(v->type, HKV_RESP_MAP);
	assert_int_equal(v->nelem, 4);
	assert_int_equal(v->elem[0]->type, HKV_RESP_STATUS);
	assert_string_equal(v->elem[0]->str, "ok");
	assert_int_equal(v->elem[1]->type, HKV_RESP_ARRAY);
	assert_int_equal(v->elem[1]->nelem, 3);
	assert_int_equal(v->elem[1]->elem[0]->integer, 1);
	assert_int_equal(v->elem[1]->elem[1]->type, HKV_RESP_NULL);
	assert_true(v->elem[1]->elem[2]->dbl == 2.5);
	assert_string_equal(v->elem[2]->str, "abc");
	assert_int_equal(v->elem[3]->type, HKV_RESP_BOOL);
	assert_int_equal(v->elem[3]->integer, 1);
	hkv_resp_value_free(v);
	assert_int_equal(hkv_resp_reader_next(&r, &v), 1);
	assert_int_equal(v->type, HKV_RESP_ERROR);
	assert_string_equal(v->str, "ERR boom");
	hkv_resp_value_free(v);
	assert_int_equal(hkv_resp_reader_next(&r, &v), 1);
	assert_int_equal(v->type, HKV_RESP_PUSH);
	assert_int_equal(v->nelem, 2);
	hkv_resp_value_free(v);
	assert_int_equal(hkv_resp_reader_next(&r, &v), 0);
	/* a malformed reply is an error, never a crash */
	assert_int_equal(hkv_resp_reader_feed(&r, "?what\r\n", 7), 0);
	assert_int_equal(hkv_resp_reader_next(&r, &v), -EPROTO);
	hkv_resp_reader_release(&r);
}

/* ---- the command table in-process (hkv_server_call) ---------------------------------- */

struct fixture {
	char *dir;
	struct hkv *db;
	struct hkv_server *srv;
};

static int setup_server(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hkv_server_config cfg;
	struct hkv_options opt;

	assert_non_null(f);
	f->dir = test_mkdtemp("resp");
	test_options(&opt, NULL);
	f->db = test_open(f->dir, &opt);
	hkv_server_config_init(&cfg);
	cfg.port = 0;
	cfg.flush = HKV_FLUSH_ENGINE;
	assert_int_equal(hkv_server_new(f->db, &cfg, &f->srv), 0);
	*state = f;
	return 0;
}

static int teardown_server(void **state)
{
	struct fixture *f = *state;

	hkv_server_free(f->srv);
	assert_int_equal(hkv_close(f->db), 0);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Run the space-separated command @line in-process with protocol @proto; compare the bytes. */
static void run(struct fixture *f, int proto, const char *line, const char *want)
{
	char **argv;
	size_t *argvlen;
	int argc = hkv_resp_split_inline(line, strlen(line), &argv, &argvlen);
	struct hkv_resp_out out;

	assert_true(argc > 0);
	hkv_resp_out_init(&out, proto);
	assert_int_equal(hkv_server_call(f->srv, argc, argv, argvlen, &out), 0);
	if (out.len != strlen(want) || memcmp(out.buf, want, out.len))
		fail_msg("%s: got \"%.*s\", want \"%s\"", line, (int)out.len, out.buf, want);
	hkv_resp_out_release(&out);
	hkv_resp_free_args(argv, argvlen, argc);
}

static void test_call_basic(void **state)
{
	struct fixture *f = *state;

	run(f, 2, "SET k v", "+OK\r\n");
	run(f, 2, "get k", "$1\r\nv\r\n");
	run(f, 2, "GET nokey", "$-1\r\n");
	run(f, 3, "GET nokey", "_\r\n");
	run(f, 2, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
	run(f, 2, "NOPE a b", "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n");
	run(f, 2, "CONFIG NOPE", "-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n");
	run(f, 2, "RPUSH l a b", ":2\r\n");
	run(f, 2, "GET l", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	run(f, 2, "HSET h f 1", ":1\r\n");
	run(f, 2, "HGETALL h", "*2\r\n$1\r\nf\r\n$1\r\n1\r\n");
	run(f, 3, "HGETALL h", "%1\r\n$1\r\nf\r\n$1\r\n1\r\n");
	run(f, 3, "ZADD z 2.5 m", ":1\r\n");
	run(f, 3, "ZSCORE z m", ",2.5\r\n");
	run(f, 2, "ZSCORE z m", "$3\r\n2.5\r\n");
	run(f, 2, "SELECT 1", "-ERR DB index is out of range\r\n");
	run(f, 2, "TYPE z", "+zset\r\n");
	run(f, 2, "DBSIZE", ":4\r\n");
	/* a blocking pop in-process behaves as on timeout: it never blocks the caller */
	run(f, 2, "BLPOP empty 0", "*-1\r\n");
	run(f, 2, "COMMAND INFO get",
	    "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
	    "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n"
	    "*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n"
	    "$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n"
	    "$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n"
	    ":1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n");
}

static void test_call_multi(void **state)
{
	struct fixture *f = *state;

	run(f, 2, "MULTI", "+OK\r\n");
	run(f, 2, "SET a 1", "+QUEUED\r\n");
	run(f, 2, "INCR a", "+QUEUED\r\n");
	run(f, 2, "LPUSH a x", "+QUEUED\r\n");
	run(f, 2, "EXEC",
	    "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of "
	    "value\r\n");
	run(f, 2, "GET a", "$1\r\n2\r\n");
	/* an error while queueing discards the transaction */
	run(f, 2, "MULTI", "+OK\r\n");
	run(f, 2, "SET b", "-ERR wrong number of arguments for 'set' command\r\n");
	run(f, 2, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	run(f, 2, "EXEC", "-ERR EXEC without MULTI\r\n");
	/* WATCH: a change by another writer (here the engine directly) aborts */
	run(f, 2, "WATCH a", "+OK\r\n");
	assert_int_equal(hkv_set(f->db, "a", 1, "9", 1, NULL), 1);
	run(f, 2, "MULTI", "+OK\r\n");
	run(f, 2, "SET a 3", "+QUEUED\r\n");
	run(f, 2, "EXEC", "*-1\r\n");
	run(f, 2, "GET a", "$1\r\n9\r\n");
	/* MSET is one transaction: all keys or none */
	run(f, 2, "MSET x 1 y 2 z 3", "+OK\r\n");
	run(f, 2, "MGET x y z w", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n");
}

static void test_call_hello(void **state)
{
	struct fixture *f = *state;

	run(f, 2, "HELLO 4", "-NOPROTO unsupported protocol version\r\n");
	run(f, 2, "HELLO x", "-ERR Protocol version is not an integer or out of range\r\n");
	run(f, 2, "PING", "+PONG\r\n");
	run(f, 2, "ECHO \"a\\r\\nb\"", "$4\r\na\r\nb\r\n");
	run(f, 2, "CLIENT SETNAME \"a b\"",
	    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
	run(f, 2, "CONFIG SET maxclients x",
	    "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
	    "couldn't be parsed into an integer\r\n");
	run(f, 2, "CONFIG SET hz 20 hz 30",
	    "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n");
	run(f, 2, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
	run(f, 3, "CONFIG GET hz", "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
}

/* The daemon's way: its own listening unix socket, the loop on a thread, a real client. */
static void test_listen_fd(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nGET k\r\n";
	static const char want[] = "+OK\r\n$2\r\nv1\r\n";
	char buf[64];
	size_t got = 0;
	int lfd, cfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", f->dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* not listening yet: refused */
	assert_int_equal(hkv_server_listen_fd(f->srv, lfd), -EINVAL);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(hkv_server_listen_fd(f->srv, lfd), 0);
	assert_int_equal(hkv_server_start(f->srv), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(cfd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
	while (got < sizeof(want) - 1) {
		ssize_t n = read(cfd, buf + got, sizeof(buf) - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(got, sizeof(want) - 1);
	assert_memory_equal(buf, want, got);
	close(cfd);
	hkv_server_stop(f->srv);
	/* the value is in the store, for every other door */
	{
		struct hkv_buf v = { 0 };

		hkv_server_free(f->srv); /* joins the loop thread, closes lfd */
		f->srv = NULL;
		assert_int_equal(hkv_get(f->db, "k", 1, &v), 0);
		assert_int_equal(v.len, 2);
		assert_memory_equal(v.data, "v1", 2);
		hkv_buf_release(&v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multibulk),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bulk_limit),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_reader),
		cmocka_unit_test_setup_teardown(test_call_basic, setup_server, teardown_server),
		cmocka_unit_test_setup_teardown(test_call_multi, setup_server, teardown_server),
		cmocka_unit_test_setup_teardown(test_call_hello, setup_server, teardown_server),
		cmocka_unit_test_setup_teardown(test_listen_fd, setup_server, teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
