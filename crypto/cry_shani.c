/* SPDX-License-Identifier: MIT */
/*
 * cry_shani: SHA-256 blocks on the x86 SHA extensions (contract in
 * cry_shani.h). The state is kept as the instructions want it (ABEF and
 * CDGH in two registers); the message schedule is computed four words at a
 * time with SHA256MSG1/MSG2, and each SHA256RNDS2 does two rounds. Other
 * targets (s390x) get stubs that are never called: cry_shani_ok() is 0.
 */
#include "cry_shani.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

int cry_shani_ok(void)
{
	static int ok = -1;    /* the same answer in every thread: a benign cache */
	unsigned a, b, c, d;
	int v = __atomic_load_n(&ok, __ATOMIC_RELAXED);

	if (v >= 0)
		return v;
	v = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1) &&
	    __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
	__atomic_store_n(&ok, v, __ATOMIC_RELAXED);
	return v;
}

__attribute__((target("sha,sse4.1,ssse3")))
void cry_shani_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i t = _mm_loadu_si128((const __m128i *)(const void *)h);        /* A B C D */
	__m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)(h + 4)); /* E F G H */
	__m128i s0, w[16];

	t = _mm_shuffle_epi32(t, 0xb1);         /* B A D C */
	s1 = _mm_shuffle_epi32(s1, 0x1b);       /* H G F E */
	s0 = _mm_alignr_epi8(t, s1, 8);         /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xf0);      /* CDGH */
	for (; n > 0; n--, p += 64) {
		__m128i abef = s0, cdgh = s1;
		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
						bswap);
		for (int i = 4; i < 16; i++) {  /* W[t] from W[t-16], W[t-15], W[t-7], W[t-2] */
			__m128i m = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
			m = _mm_add_epi32(m, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
			w[i] = _mm_sha256msg2_epu32(m, w[i - 1]);
		}
		for (int i = 0; i < 16; i++) {
			__m128i m = _mm_add_epi32(w[i], _mm_load_si128((const __m128i *)(const void *)(K + 4 * i)));
			s1 = _mm_sha256rnds2_epu32(s1, s0, m);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0e));
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1b);        /* A B E F (lanes 0..3) */
	s1 = _mm_shuffle_epi32(s1, 0xb1);       /* G H C D */
	s0 = _mm_blend_epi16(t, s1, 0xf0);      /* A B C D */
	s1 = _mm_alignr_epi8(s1, t, 8);         /* E F G H */
	_mm_storeu_si128((__m128i *)(void *)h, s0);
	_mm_storeu_si128((__m128i *)(void *)(h + 4), s1);
}

#else

int cry_shani_ok(void)
{
	return 0;
}

void cry_shani_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

#endif
