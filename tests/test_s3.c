/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/s3.h and src/iam.h: SigV4 against the published AWS
 * vectors (tests/vectors/sigv4.txt, origin recorded there), the XML reader
 * on replies in the shapes AWS, IBM COS and s3rver send, MD5 (RFC 1321
 * appendix A.5), and the IAM token reply parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "iam.h"
#include "s3.h"
#include "tutil.h"
#include "util.h"

#define MAXH 16

struct vec {
	char name[64], key[64], secret[64], region[32], service[32], date[20], method[8];
	char path[256], query[512], payload[72], creq[72], auth[512];
	char hn[MAXH][64], hv[MAXH][128];
	struct hcl_hdr h[MAXH];
	size_t nh;
};

static void field(char *dst, size_t cap, const char *v)
{
	snprintf(dst, cap, "%s", v);
}

static void run_vec(struct vec *v)
{
	struct s3_sig_in in = { .method = v->method, .path = v->path, .query = v->query,
				.hdrs = v->h, .nhdrs = v->nh, .payload_hash = v->payload,
				.access_key = v->key, .secret_key = v->secret, .region = v->region,
				.service = v->service, .amz_date = v->date };
	char creq[4096], auth[512], sts[512], hex[65];
	uint8_t d[32];
	int n;

	for (size_t i = 0; i < v->nh; i++)
		v->h[i] = (struct hcl_hdr){ v->hn[i], v->hv[i] };
	n = s3_sig_canonical(&in, creq, sizeof creq);
	CHECK(n > 0);
	if (*v->creq && n > 0) {
		cry_sha256(creq, (size_t)n, d);
		cry_hex(d, 32, hex);
		CHECK(strcmp(hex, v->creq) == 0);
	}
	CHECK(s3_sig_sign(&in, auth, sizeof auth, sts, sizeof sts) == 0);
	if (strcmp(auth, v->auth) != 0)
		fprintf(stderr, "%s:\n got  %s\n want %s\n%s\n", v->name, auth, v->auth, creq);
	CHECK(strcmp(auth, v->auth) == 0);
	CHECK(s3_sig_sign(&in, auth, 40, NULL, 0) == -ENOSPC);
}

static int vectors(void)
{
	FILE *f = fopen(tu_vector("sigv4.txt"), "r");
	char line[1024];
	struct vec v;
	int cases = 0;

	CHECK(f != NULL);
	if (!f)
		return 0;
	memset(&v, 0, sizeof v);
	while (fgets(line, sizeof line, f)) {
		char *val;
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || !line[0])
			continue;
		val = strchr(line, ' ');
		if (val)
			*val++ = 0;
		else
			val = line + strlen(line);
#define F(k) else if (strcmp(line, #k) == 0) field(v.k, sizeof v.k, val)
		if (strcmp(line, "end") == 0) {
			run_vec(&v);
			cases++;
			memset(&v, 0, sizeof v);
		}
		F(name); F(key); F(secret); F(region); F(service); F(date); F(method);
		F(path); F(query); F(payload); F(auth);
		else if (strcmp(line, "creq_sha256") == 0)
			field(v.creq, sizeof v.creq, val);
		else if (strcmp(line, "header") == 0 && v.nh < MAXH) {
			char *c = strchr(val, ':');
			CHECK(c != NULL);
			if (!c)
				continue;
			*c = 0;
			field(v.hn[v.nh], sizeof v.hn[0], val);
			field(v.hv[v.nh], sizeof v.hv[0], c + 1);
			v.nh++;
		} else
			CHECK(!"unknown vector field");
#undef F
	}
	fclose(f);
	return cases;
}

/* The exact canonical request of get-vanilla, as the suite prints it. */
static void canonical_exact(void)
{
	struct hcl_hdr h[] = { { "Host", "example.amazonaws.com" }, { "X-Amz-Date", "20150830T123600Z" } };
	struct s3_sig_in in = { .method = "GET", .path = "/", .query = "", .hdrs = h, .nhdrs = 2,
				.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" };
	char out[512], sts[512], auth[512];

	CHECK(s3_sig_canonical(&in, out, sizeof out) > 0);
	CHECK(strcmp(out, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			  "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	in.access_key = "AKIDEXAMPLE";
	in.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	in.region = "us-east-1";
	in.service = "service";
	in.amz_date = "20150830T123600Z";
	CHECK(s3_sig_sign(&in, auth, sizeof auth, sts, sizeof sts) == 0);
	CHECK(strcmp(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
			  "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63") == 0);
	CHECK(s3_sig_canonical(&in, out, 20) == -ENOSPC);
	/* S3's query forms: a bare "uploads" and an encoded upload id. */
	in.query = "uploads";
	CHECK(s3_sig_canonical(&in, out, sizeof out) > 0 && strstr(out, "\n/\nuploads=\n"));
	in.query = "uploadId=a%2Fb+c&partNumber=2";
	CHECK(s3_sig_canonical(&in, out, sizeof out) > 0 &&
	      strstr(out, "\n/\npartNumber=2&uploadId=a%2Fb%2Bc\n"));
	char date[17];
	s3_amz_date(1440938160, date);
	CHECK(strcmp(date, "20150830T123600Z") == 0);
}

static int xt(const char *doc, const char *name, char *out, size_t cap)
{
	return s3_xml_text((const uint8_t *)doc, strlen(doc), name, out, cap);
}

static void xml(void)
{
	char t[256];
	const char *init = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE-_.~</UploadId>"
		"</InitiateMultipartUploadResult>";
	const char *err = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code>"
		"<Message>The specified bucket does not exist.</Message><Resource>/x/y</Resource>"
		"<RequestId>1</RequestId><httpStatusCode>404</httpStatusCode></Error>";
	const char *done = "<CompleteMultipartUploadResult><Location>http://h/b/k</Location>"
		"<Bucket>b</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
		"</CompleteMultipartUploadResult>";

	CHECK(xt(init, "UploadId", t, sizeof t) == 16 && strcmp(t, "VXBsb2FkIElE-_.~") == 0);
	CHECK(xt(err, "Code", t, sizeof t) > 0 && strcmp(t, "NoSuchBucket") == 0);
	CHECK(xt(err, "Message", t, sizeof t) > 0 && strcmp(t, "The specified bucket does not exist.") == 0);
	CHECK(xt(done, "ETag", t, sizeof t) > 0 && strcmp(t, "\"3858f62230ac3c915f300c664312c11f-9\"") == 0);
	CHECK(xt(done, "UploadId", t, sizeof t) == -ENOENT);
	CHECK(xt(done, "ETag", t, 8) == -E2BIG);
	CHECK(xt("<a:Error xmlns:a=\"x\"><a:Code>X</a:Code></a:Error>", "Code", t, sizeof t) == 1);
	CHECK(xt("<Error><Code/></Error>", "Code", t, sizeof t) == 0 && t[0] == 0);
	CHECK(xt("<Error><Code><x>1</x></Code></Error>", "Code", t, sizeof t) == -ENOENT);
	CHECK(xt("<Error><Code>X</Error></Code>", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("<Error><Code>X</Code>", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("<Error><Code>a&bogus;</Code></Error>", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("<!DOCTYPE x [<!ENTITY a \"b\">]><Code>&a;</Code>", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("no xml here", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("<Error><Code", "Code", t, sizeof t) == -EPROTO);
	CHECK(xt("<Error><!-- <Code>no</Code> --><Code>yes</Code></Error>", "Code", t, sizeof t) == 3);
	CHECK(s3_xml_text((const uint8_t *)"<a>\0</a>", 8, "a", t, sizeof t) == -EPROTO);
	/* found by fuzz_s3: a processing instruction or comment inside the text */
	CHECK(xt("<E><ETag>a<?>b</ETag></E>", "ETag", t, sizeof t) == -ENOENT);
	CHECK(xt("<E><ETag>a<!-- x -->b</ETag><ETag>c</ETag></E>", "ETag", t, sizeof t) == 1 && t[0] == 'c');
	char deep[2048] = "";
	for (int i = 0; i < S3_MAX_XML_DEPTH + 1; i++)
		strcat(deep, "<a>");
	CHECK(xt(deep, "a", t, sizeof t) == -EPROTO);
}

static void md5(void)
{
	static const struct { const char *in, *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	struct cry_md5 c;
	uint8_t d[16];
	char hex[33];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		cry_md5_init(&c);
		cry_md5_update(&c, v[i].in, strlen(v[i].in));
		cry_md5_final(&c, d);
		cry_hex(d, 16, hex);
		CHECK(strcmp(hex, v[i].hex) == 0);
	}
}

static int ip(const char *doc, int64_t now, char *tok, size_t cap, int64_t *exp)
{
	return iam_parse((const uint8_t *)doc, strlen(doc), now, tok, cap, exp);
}

static void iam(void)
{
	char tok[64];
	int64_t exp = 0;

	/* The shape IAM sends (fields as documented for /identity/token). */
	CHECK(ip("{\"access_token\":\"eyJraWQiOi.x.y\",\"refresh_token\":\"not_supported\","
		 "\"token_type\":\"Bearer\",\"expires_in\":3600,\"expiration\":1700003600,"
		 "\"scope\":\"ibm openid\"}", 1700000000, tok, sizeof tok, &exp) == 0);
	CHECK(strcmp(tok, "eyJraWQiOi.x.y") == 0 && exp == 1700003600);
	CHECK(ip("{\"access_token\":\"t\",\"expires_in\":60}", 100, tok, sizeof tok, &exp) == 0 && exp == 160);
	CHECK(ip("{\"access_token\":\"t\",\"expires_in\":9e9}", 100, tok, sizeof tok, &exp) == 0 &&
	      exp == 100 + IAM_MAX_TTL);
	CHECK(ip("{\"access_token\":\"t\",\"expiration\":50,\"expires_in\":10}", 100, tok, sizeof tok, &exp) == 0 &&
	      exp == 110);
	CHECK(ip("{\"access_token\":\"t\"}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"access_token\":\"t\",\"expires_in\":0}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"access_token\":\"a b\",\"expires_in\":10}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"access_token\":\"a\\r\\nX: y\",\"expires_in\":10}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"access_token\":\"\",\"expires_in\":10}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"errorCode\":\"BXNIM0415E\"}", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("[1]", 100, tok, sizeof tok, &exp) == -EPROTO);
	CHECK(ip("{\"access_token\":\"0123456789\",\"expires_in\":10}", 100, tok, 8, &exp) == -E2BIG);
}

static void config(void)
{
	char err[256];
	struct s3_cfg c = { .endpoint = "https://s3.example", .bucket = "my-bucket",
			    .access_key = "a", .secret_key = "s", .log_fd = -1 };

	CHECK(s3_check(&c, err, sizeof err) == 0);
	c.bucket = "My_Bucket";
	CHECK(s3_check(&c, err, sizeof err) == -EINVAL && strstr(err, "My_Bucket"));
	c.bucket = "ok-bucket";
	c.secret_key = NULL;
	CHECK(s3_check(&c, err, sizeof err) == -EINVAL && strstr(err, "no credentials"));
	c.api_key = "k";
	CHECK(s3_check(&c, err, sizeof err) == -EINVAL && strstr(err, "AUTH_ENDPOINT"));
	c.auth_endpoint = "https://iam.example/identity/token";
	CHECK(s3_check(&c, err, sizeof err) == 0 && !strstr(err, "k\""));
	c.endpoint = "https://s3.example:8443/";
	CHECK(s3_check(&c, err, sizeof err) == 0);
	c.endpoint = "https://s3.example/prefix";
	CHECK(s3_check(&c, err, sizeof err) == -EINVAL);
	c.endpoint = "https://user:pw@s3.example";
	CHECK(s3_check(&c, err, sizeof err) == -EINVAL && !strstr(err, "pw"));
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cli(int argc, char **argv)
{
	struct s3_cfg c = { .endpoint = getenv("S3_ENDPOINT"), .bucket = getenv("S3_BUCKET"),
			    .access_key = getenv("S3_ACCESS_KEY"), .secret_key = getenv("S3_SECRET_KEY"),
			    .api_key = getenv("S3_API_KEY"), .auth_endpoint = getenv("S3_AUTH_ENDPOINT"),
			    .resource_crn = getenv("S3_CRN"), .log_fd = 2 };
	const char *caf = getenv("S3_CA_FILE");
	uint8_t *ca = NULL, *p = NULL;
	size_t calen = 0, n = 0;
	char err[512];
	struct stat st;
	double t0 = now_s();
	int rc, fd;

	if (argc != 4)
		return 2;
	if (caf && util_read_file(caf, 4u << 20, &ca, &calen) == 0) {
		c.ca_pem = ca;
		c.ca_len = calen;
	}
	if (strcmp(argv[1], "put") == 0) {
		fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			return 2;
		rc = s3_put(&c, argv[2], fd, NULL, (uint64_t)st.st_size, err, sizeof err);
		close(fd);
		n = (size_t)st.st_size;
	} else {
		rc = s3_get(&c, argv[2], S3_MAX_OBJECT, &p, &n, err, sizeof err);
		if (rc == 0)
			rc = util_write_atomic(argv[3], p, n, 0600);
		free(p);
	}
	free(ca);
	if (rc < 0) {
		fprintf(stderr, "test_s3 %s: %s\n", argv[1], err);
		return 1;
	}
	printf("%zu bytes in %.3f s\n", n, now_s() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	int n;

	if (argc > 1)
		return cli(argc, argv);
	n = vectors();

	CHECK(n == 12);
	canonical_exact();
	xml();
	md5();
	iam();
	config();
	return tu_done("s3");
}
