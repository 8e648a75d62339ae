// SPDX-License-Identifier: MIT
/*
 * test_bytequeue.c - the bounded byte queue (src/bytequeue.c), and the
 * core helpers in headers: cursor.h, bytes.h, ratelimit.h.
 */
#include "unit.h"
#include "bytequeue.h"
#include "bytes.h"
#include "cursor.h"
#include "ratelimit.h"

#include <stdint.h>
#include <string.h>

TEST(bytequeue_put_consume_bounded)
{
	struct bytequeue q;
	uint8_t big[10000];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	bq_init(&q, 8192, 0);
	CHECK(!q.b && bq_len(&q) == 0 && bq_room(&q) == 8192 && !bq_data(&q));
	REQUIRE(bq_take(&q) == 0 && q.b);
	CHECK(bq_put(&q, "abc", 3) == 3 && bq_len(&q) == 3);
	CHECK(!memcmp(bq_data(&q), "abc", 3));
	CHECK(bq_put(&q, big, sizeof(big)) == 8192 - 3); /* what fits */
	CHECK(bq_room(&q) == 0 && bq_put(&q, "x", 1) == 0);
	bq_consume(&q, 3);
	CHECK(bq_len(&q) == 8189 && bq_data(&q)[0] == 0);
	bq_consume(&q, 100);
	CHECK(bq_data(&q)[0] == 100 && bq_room(&q) == 103);
	/* no room after the data: the put moves it to the front */
	CHECK(bq_put(&q, "xyz", 3) == 3 && q.off == 0);
	CHECK(bq_data(&q)[0] == 100 && bq_data(&q)[bq_len(&q) - 1] == 'z');
	bq_clear(&q);
	CHECK(bq_len(&q) == 0 && q.off == 0 && q.b);
	bq_release(&q);
	CHECK(!q.b && bq_room(&q) == 8192);
	REQUIRE(bq_take(&q) == 0);  /* taken again, empty */
	CHECK(bq_len(&q) == 0 && q.hwm == 0);
	bq_free(&q);
	CHECK(!q.b);
}

TEST(bytequeue_tail_and_wipe)
{
	struct bytequeue q;
	uint8_t *t;
	size_t room;

	bq_init(&q, 16384, 1);
	REQUIRE(bq_take(&q) == 0);
	t = bq_tail(&q, &room);
	CHECK(t == q.b && room == 16384);
	memset(t, 'a', 10000);
	bq_wrote(&q, 10000);
	CHECK(q.hwm == 10000);
	bq_consume(&q, 9000);
	CHECK(q.b[0] == 0 && q.b[8999] == 0 && q.b[9000] == 'a'); /* wiped */
	/* 16384 - 10000 left after the data: no move */
	t = bq_tail(&q, &room);
	CHECK(q.off == 9000 && room == 6384 && t == q.b + 10000);
	memset(t, 'b', 3000);
	bq_wrote(&q, 3000);
	/* 3384 left, under 4096: moved to the front, the old copy wiped */
	t = bq_tail(&q, &room);
	CHECK(q.off == 0 && room == 16384 - 4000 && t == q.b + 4000);
	CHECK(q.b[0] == 'a' && q.b[999] == 'a' && q.b[1000] == 'b');
	CHECK(q.b[4000] == 0 && q.b[12999] == 0);
	CHECK(q.hwm == 13000);
	bq_release(&q);             /* not empty: kept */
	CHECK(q.b != NULL);
	bq_free(&q);
	CHECK(!q.b && bq_len(&q) == 0);
}

TEST(cursor_reads_and_writes_bounded)
{
	static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct cursor c;
	struct wcursor w;
	uint8_t out[6];

	cur_init(&c, in, sizeof(in));
	CHECK(cur_u8(&c) == 1 && cur_be16(&c) == 0x0203);
	CHECK(cur_be32(&c) == 0x04050607 && !c.err && cur_end(&c));
	CHECK(cur_u8(&c) == 0 && c.err && cur_left(&c) == 0);
	CHECK(!cur_bytes(&c, 0) && c.off == sizeof(in));  /* sticky */

	cur_init(&c, in, 3);
	CHECK(cur_be32(&c) == 0 && c.err && c.off == 0);  /* nothing read */
	cur_init(&c, NULL, 5);
	CHECK(cur_left(&c) == 0 && !cur_bytes(&c, 1));

	wcur_init(&w, out, sizeof(out));
	wcur_be16(&w, 0x0102);
	wcur_be32(&w, 0x03040506);
	CHECK(!w.err && w.off == 6 && wcur_left(&w) == 0);
	CHECK(out[0] == 1 && out[5] == 6);
	wcur_u8(&w, 7);
	CHECK(w.err && w.off == 6);

	CHECK(rd16(in) == 0x0102 && rd32(in + 3) == 0x04050607);
	wr16(out, 0xabcd);
	wr32(out + 2, 0x01020304);
	CHECK(out[0] == 0xab && out[1] == 0xcd && out[2] == 1 && out[5] == 4);
}

TEST(ratelimit_per_second)
{
	struct ratelimit rl = { 0 };
	int i, ok = 0;

	for (i = 0; i < 10; i++)
		ok += ratelimit_ok(&rl, 5000 + (uint64_t)i, 5);
	CHECK(ok == 5);
	CHECK(ratelimit_count(&rl, 5999) == 11);
	CHECK(ratelimit_ok(&rl, 6000, 5) && ratelimit_count(&rl, 6001) == 2);
}
