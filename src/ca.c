// SPDX-License-Identifier: MIT
/*
 * ca.c - the islo-net certificate authority.
 *
 * DOC: Theory of Operation
 *
 * To intercept a sandbox's TLS connection, the gateway must present a
 * certificate for the name the sandbox asked for, signed by an authority
 * the sandbox trusts. That authority is this one: an ECDSA P-256 key and a
 * self-signed certificate kept in a state directory, made on first use and
 * loaded afterwards; `islo-net run` adds its certificate to the bundle the
 * sandbox trusts (ca_write_bundle()).
 *
 * On disk: DIR/ca.pem and DIR/ca-key.pem (PEM "EC PRIVATE KEY", RFC 5915,
 * so openssl reads it). The key is written to a temporary name created
 * O_EXCL with mode 0600, then renamed: it is never readable by anyone else,
 * not even for a moment. A key file that group or others may access is
 * refused rather than used. The certificate is renamed into place before
 * the key, so a crash leaves at worst a certificate without a key, which
 * the next start replaces; a key without a certificate is an error for the
 * operator (it may be the only copy of a CA someone trusts). ca_open()
 * holds an flock() on DIR/ca.lock while it looks and creates, so two
 * islo-net processes starting at once end up with one CA.
 *
 * Leaf certificates are minted on demand (ca_mint.c, which also makes the
 * CA's own certificate; ca_int.h is the state both files share) with our
 * DER writer (der.c) and signed with BearSSL (deterministic ECDSA, RFC 6979, so signing needs no
 * randomness; serials and keys come from an HMAC-DRBG seeded by
 * getrandom()). Every leaf carries the same P-256 key, made at ca_open()
 * and never written anywhere: one key is enough since the leaves are only
 * ever presented by this process, and it makes a mint one signature.
 *
 * The cache is a fixed array of CA_CACHE_SIZE slots (allocated once),
 * found by a chained hash on the name and ordered by an LRU list of slot
 * indexes. A miss takes a never-used slot, else the least recently used
 * one. A leaf with less than a day left is minted again into another slot;
 * the old slot leaves the hash but keeps its LRU place. So a slot's bytes
 * are rewritten only when it is the least recently used of all: what
 * ca_leaf() returned stays intact until CA_CACHE_SIZE - 1 other slots have
 * been used more recently, and never changes under a caller who keeps
 * asking for the same name.
 *
 * A caller that must keep the bytes for longer (a TLS handshake presenting
 * the leaf) pins the slot with ca_leaf_pin() and lets go with
 * ca_leaf_unpin(): a pinned slot is never chosen as a victim, so every
 * connection to a name shares the one cached leaf instead of a copy each.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca_int.h"
#include "der.h"
#include "ecfast.h"
#include "fileutil.h"
#include "trust.h"

#define CA_READ_MAX     65536 /* ca.pem / ca-key.pem */
#define LEAF_RENEW      86400L /* re-mint with less than this left */


static char *path_join(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	return p;
}

/* ----------------------------------------------------------------------
 * Files
 */

/**
 * mkdir_p() - Create a directory and its missing parents, mode 0700
 * @dir: Path
 * Return: 0 if @dir is a directory now, -1 with errno set
 */
static int mkdir_p(const char *dir)
{
	struct stat st;
	char *p = strdup(dir), *s;
	int rc = 0;

	if (!p)
		return -1;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			rc = -1;
		*s = '/';
		if (rc)
			break;
	}
	if (!rc && mkdir(p, 0700) && errno != EEXIST)
		rc = -1;
	free(p);
	if (rc)
		return -1;
	if (stat(dir, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/**
 * write_file_atomic() - Write a file under a temporary name, then rename
 * @path: Final name
 * @data: Contents
 * @len:  Their length
 * @mode: Mode; the temporary file is created O_EXCL with it (so never more
 *	  open than that) and fchmod()ed to it exactly, whatever the umask
 * Return: 0, or -1 with errno set
 */
static int write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode)
{
	char *tmp;
	int fd, e;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return -1;
	unlink(tmp); /* left over by a crashed process that had our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0)
		goto fail_free;
	if (fchmod(fd, mode) || fu_write_all(fd, data, len) || fsync(fd)) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_unlink;
	}
	if (close(fd) || rename(tmp, path))
		goto fail_unlink;
	free(tmp);
	return 0;
fail_unlink:
	e = errno;
	unlink(tmp);
	errno = e;
fail_free:
	e = errno;
	free(tmp);
	errno = e;
	return -1;
}

/**
 * read_key_file() - Read the CA key file, refusing a loosely protected one
 * @path:   ca-key.pem
 * @buf:    malloc'd contents (secret: zero before freeing)
 * @len:    Their length
 * @err:    Message on failure
 * @errlen: Its size
 * Return: 0, 1 if the file does not exist, -1 on error
 */
static int read_key_file(const char *path, uint8_t **buf, size_t *len,
			 char *err, size_t errlen)
{
	struct stat st;
	uint8_t *b;
	size_t n = 0;
	int fd;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		fu_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fu_seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		fu_seterr(err, errlen,
			  "%s: private key is readable or writable by group or "
			  "others (mode %04o); refusing to use it: chmod 600 it "
			  "if it is still secret",
			  path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	if (st.st_size <= 0 || st.st_size > CA_READ_MAX) {
		fu_seterr(err, errlen, "%s: bad size %lld", path,
			  (long long)st.st_size);
		close(fd);
		return -1;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		fu_seterr(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* ----------------------------------------------------------------------
 * Loading and creating
 */

struct first_obj {
	const char *want1, *want2;
	uint8_t *der;
	size_t len;
	int nomem;
};

static int first_obj_cb(void *ctx, const char *name, const uint8_t *der,
			size_t len)
{
	struct first_obj *f = ctx;

	if (strcmp(name, f->want1) && (!f->want2 || strcmp(name, f->want2)))
		return 0;
	f->der = malloc(len ? len : 1);
	if (!f->der) {
		f->nomem = 1;
		return 1;
	}
	memcpy(f->der, der, len);
	f->len = len;
	return 1;
}

/**
 * pem_decoder() - Find the first PEM object of a kind, and room to decode it
 * @f:      What to look for; @f->der (the caller frees it) set if found
 * @pem:    File contents
 * @len:    Their length
 * @path:   The file, for messages
 * @size:   The size of the decoder's context
 * @err:    Message on failure
 * @errlen: Its size
 * Return: @size bytes (the caller frees them), or NULL with the error set
 */
static void *pem_decoder(struct first_obj *f, const uint8_t *pem, size_t len,
			 const char *path, size_t size, char *err,
			 size_t errlen)
{
	void *ctx;

	trust_pem_each(pem, len, first_obj_cb, f);
	if (!f->der) {
		fu_seterr(err, errlen, "%s: no %s in it", path, f->want1);
		return NULL;
	}
	ctx = malloc(size);
	if (!ctx)
		fu_seterr(err, errlen, "out of memory");
	return ctx;
}

struct dn_copy {
	struct ca *ca;
	int err;
};

static void dn_copy_cb(void *ctx, const void *buf, size_t len)
{
	struct dn_copy *c = ctx;

	if (c->err || len > sizeof(c->ca->dn) - c->ca->dn_len) {
		c->err = 1;
		return;
	}
	memcpy(c->ca->dn + c->ca->dn_len, buf, len);
	c->ca->dn_len += len;
}

/**
 * load_key() - Parse the CA key (SEC1 or PKCS#8 PEM) into @ca->sk, @ca->pk
 * @ca:     CA
 * @pem:    Key file contents
 * @len:    Their length
 * @err:    Message on failure
 * @errlen: Its size
 * Return: 0 or -1
 */
static int load_key(struct ca *ca, const uint8_t *pem, size_t len, char *err,
		    size_t errlen)
{
	struct first_obj f = { "EC PRIVATE KEY", "PRIVATE KEY", NULL, 0, 0 };
	br_skey_decoder_context *sd;
	const br_ec_private_key *k;
	int rc = -1;

	sd = pem_decoder(&f, pem, len, ca->key_path, sizeof(*sd), err, errlen);
	if (!sd)
		goto out;
	br_skey_decoder_init(sd);
	br_skey_decoder_push(sd, f.der, f.len);
	k = br_skey_decoder_get_ec(sd);
	if (br_skey_decoder_last_error(sd) || !k || k->curve != BR_EC_secp256r1 ||
	    k->xlen == 0 || k->xlen > sizeof(ca->skbuf)) {
		fu_seterr(err, errlen, "%s: not a P-256 EC private key",
			  ca->key_path);
		goto out;
	}
	memcpy(ca->skbuf, k->x, k->xlen);
	ca->sk.curve = k->curve;
	ca->sk.x = ca->skbuf;
	ca->sk.xlen = k->xlen;
	if (!br_ec_compute_pub(ecfast_impl(), &ca->pk, ca->pkbuf, &ca->sk)) {
		fu_seterr(err, errlen, "%s: bad private key", ca->key_path);
		goto out;
	}
	rc = 0;
out:
	if (sd) {
		explicit_bzero(sd, sizeof(*sd));
		free(sd);
	}
	if (f.der)
		explicit_bzero(f.der, f.len);
	free(f.der);
	return rc;
}

/**
 * load_cert() - Read ca.pem and check it belongs to the key
 * @ca:     CA, with the key loaded
 * @err:    Message on failure
 * @errlen: Its size
 * Return: 0, 1 if ca.pem does not exist, -1 on error
 */
static int load_cert(struct ca *ca, char *err, size_t errlen)
{
	struct first_obj f = { "CERTIFICATE", NULL, NULL, 0, 0 };
	br_x509_decoder_context *xd;
	struct dn_copy dc = { ca, 0 };
	const br_x509_pkey *pk;
	uint8_t *buf;
	size_t len;
	int rc = -1;

	if (trust_read_file(ca->cert_path, CA_READ_MAX, &buf, &len)) {
		if (errno == ENOENT)
			return 1;
		fu_seterr(err, errlen, "%s: %s", ca->cert_path, strerror(errno));
		return -1;
	}
	xd = pem_decoder(&f, buf, len, ca->cert_path, sizeof(*xd), err, errlen);
	free(buf);
	if (!xd) {
		free(f.der);
		return -1;
	}
	ca->dn_len = 0;
	br_x509_decoder_init(xd, dn_copy_cb, &dc);
	br_x509_decoder_push(xd, f.der, f.len);
	pk = br_x509_decoder_get_pkey(xd);
	if (!pk || dc.err) {
		fu_seterr(err, errlen, "%s: cannot decode the certificate",
			  ca->cert_path);
		goto out;
	}
	if (pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != ca->pk.qlen ||
	    memcmp(pk->key.ec.q, ca->pk.q, ca->pk.qlen)) {
		fu_seterr(err, errlen, "%s does not match the key in %s",
			  ca->cert_path, ca->key_path);
		goto out;
	}
	if (!br_x509_decoder_isCA(xd)) {
		fu_seterr(err, errlen, "%s is not a CA certificate", ca->cert_path);
		goto out;
	}
	ca->not_after = ca_bearssl_time(xd->notafter_days, xd->notafter_seconds);
	if (ca->not_after <= time(NULL)) {
		fu_seterr(err, errlen,
			  "%s has expired: remove it and %s to make a new CA",
			  ca->cert_path, ca->key_path);
		goto out;
	}
	ca->cert = f.der;
	ca->cert_len = f.len;
	f.der = NULL;
	{
		/* Our SKI is SHA-1 of the key, as openssl's default is */
		br_sha1_context h;

		br_sha1_init(&h);
		br_sha1_update(&h, ca->pk.q, ca->pk.qlen);
		br_sha1_out(&h, ca->ski);
	}
	rc = 0;
out:
	free(xd);
	free(f.der);
	return rc;
}

/**
 * create_ca() - Make a new CA key and certificate and write them
 * @ca:     CA (paths set)
 * @err:    Message on failure
 * @errlen: Its size
 * Return: 0 or -1
 */
static int create_ca(struct ca *ca, char *err, size_t errlen)
{
	uint8_t cert[CA_CERT_MAX], keyder[256];
	char *pem = NULL;
	size_t clen, klen, plen;
	int rc = -1;

	if (!br_ec_keygen(&ca->rng.vtable, ecfast_impl(), &ca->sk, ca->skbuf,
			  BR_EC_secp256r1) ||
	    !br_ec_compute_pub(ecfast_impl(), &ca->pk, ca->pkbuf, &ca->sk)) {
		fu_seterr(err, errlen, "CA key generation failed");
		return -1;
	}
	if (ca_mint_root(ca, cert, sizeof(cert), &clen)) {
		fu_seterr(err, errlen, "cannot build the CA certificate");
		return -1;
	}
	plen = br_pem_encode(NULL, cert, clen, "CERTIFICATE", BR_PEM_LINE64);
	pem = malloc(plen + 1);
	if (!pem) {
		fu_seterr(err, errlen, "out of memory");
		return -1;
	}
	br_pem_encode(pem, cert, clen, "CERTIFICATE", BR_PEM_LINE64);
	if (write_file_atomic(ca->cert_path, pem, plen, 0644)) {
		fu_seterr(err, errlen, "%s: %s", ca->cert_path, strerror(errno));
		goto out;
	}
	free(pem);
	pem = NULL;

	klen = br_encode_ec_raw_der(NULL, &ca->sk, &ca->pk);
	if (!klen || klen > sizeof(keyder)) {
		fu_seterr(err, errlen, "cannot encode the CA key");
		goto out;
	}
	br_encode_ec_raw_der(keyder, &ca->sk, &ca->pk);
	plen = br_pem_encode(NULL, keyder, klen, BR_ENCODE_PEM_EC_RAW,
			     BR_PEM_LINE64);
	pem = malloc(plen + 1);
	if (!pem) {
		fu_seterr(err, errlen, "out of memory");
		goto out;
	}
	br_pem_encode(pem, keyder, klen, BR_ENCODE_PEM_EC_RAW, BR_PEM_LINE64);
	if (write_file_atomic(ca->key_path, pem, plen, 0600)) {
		fu_seterr(err, errlen, "%s: %s", ca->key_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(keyder, sizeof(keyder));
	if (pem) {
		explicit_bzero(pem, plen);
		free(pem);
	}
	return rc;
}

/**
 * open_locked() - Load or create the CA, with DIR/ca.lock held
 * @ca:     CA (paths and RNG set)
 * @err:    Message on failure
 * @errlen: Its size
 * Return: 0 or -1
 */
static int open_locked(struct ca *ca, char *err, size_t errlen)
{
	uint8_t *key;
	size_t klen;
	int r;

	r = read_key_file(ca->key_path, &key, &klen, err, errlen);
	if (r < 0)
		return -1;
	if (r == 1) {
		/* No key: a certificate alone is useless, make both */
		if (create_ca(ca, err, errlen))
			return -1;
		r = read_key_file(ca->key_path, &key, &klen, err, errlen);
		if (r) {
			if (r == 1)
				fu_seterr(err, errlen, "%s vanished", ca->key_path);
			return -1;
		}
	}
	r = load_key(ca, key, klen, err, errlen);
	explicit_bzero(key, klen);
	free(key);
	if (r)
		return -1;
	r = load_cert(ca, err, errlen);
	if (r == 1)
		fu_seterr(err, errlen,
			  "%s is missing but %s exists: restore it, or remove "
			  "the key to make a new CA",
			  ca->cert_path, ca->key_path);
	return r ? -1 : 0;
}

struct ca *ca_open(const char *dir, char *err, size_t errlen)
{
	struct ca *ca;
	char *lock = NULL;
	int fd = -1, i;

	if (!dir || !*dir) {
		fu_seterr(err, errlen, "no CA directory");
		return NULL;
	}
	ca = calloc(1, sizeof(*ca));
	if (!ca) {
		fu_seterr(err, errlen, "out of memory");
		return NULL;
	}
	ca->lru_end[LRU_HEAD] = ca->lru_end[LRU_TAIL] = -1;
	for (i = 0; i < CA_HASH_BUCKETS; i++)
		ca->bucket[i] = -1;
	ca->dir = strdup(dir);
	ca->cert_path = path_join(dir, CA_CERT_FILE);
	ca->key_path = path_join(dir, CA_KEY_FILE);
	lock = path_join(dir, "ca.lock");
	ca->leaves = calloc(CA_CACHE_SIZE, sizeof(*ca->leaves));
	if (!ca->dir || !ca->cert_path || !ca->key_path || !lock ||
	    !ca->leaves) {
		fu_seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (ca_rng_init(ca)) {
		fu_seterr(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	if (mkdir_p(dir)) {
		fu_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		fu_seterr(err, errlen, "%s: %s", lock, strerror(errno));
		goto fail;
	}
	if (open_locked(ca, err, errlen))
		goto fail;
	close(fd); /* releases the lock */
	free(lock);

	if (!br_ec_keygen(&ca->rng.vtable, ecfast_impl(), &ca->leaf_sk,
			  ca->leaf_skbuf, BR_EC_secp256r1) ||
	    !br_ec_compute_pub(ecfast_impl(), &ca->leaf_pk, ca->leaf_pkbuf,
			       &ca->leaf_sk)) {
		fu_seterr(err, errlen, "leaf key generation failed");
		ca_free(ca);
		return NULL;
	}
	return ca;
fail:
	if (fd >= 0)
		close(fd);
	free(lock);
	ca_free(ca);
	return NULL;
}

void ca_free(struct ca *ca)
{
	if (!ca)
		return;
	FREE_ALL(ca->dir, ca->cert_path, ca->key_path, ca->cert, ca->leaves);
	explicit_bzero(ca, sizeof(*ca)); /* both private keys, the DRBG */
	free(ca);
}

const char *ca_cert_path(const struct ca *ca)
{
	return ca->cert_path;
}

const unsigned char *ca_cert_der(const struct ca *ca, size_t *len)
{
	*len = ca->cert_len;
	return ca->cert;
}

int ca_cert_pem(const struct ca *ca, char **pem, size_t *len)
{
	size_t n = br_pem_encode(NULL, ca->cert, ca->cert_len, "CERTIFICATE",
				 BR_PEM_LINE64);
	char *p = malloc(n + 1);

	*pem = NULL;
	*len = 0;
	if (!p)
		return -1;
	br_pem_encode(p, ca->cert, ca->cert_len, "CERTIFICATE", BR_PEM_LINE64);
	*pem = p;
	*len = n;
	return 0;
}

char *ca_default_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p;

	/* XDG: a relative path is invalid and must be ignored */
	if (x && x[0] == '/') {
		if (asprintf(&p, "%s/islo-net", x) < 0)
			return NULL;
		return p;
	}
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/')
		return NULL;
	if (asprintf(&p, "%s/.local/state/islo-net", home) < 0)
		return NULL;
	return p;
}

/* ----------------------------------------------------------------------
 * Leaf cache
 */

static unsigned name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h & (CA_HASH_BUCKETS - 1);
}

static void lru_unlink(struct ca *ca, int i)
{
	struct leaf *l = &ca->leaves[i];
	int d;

	if (!l->in_lru)
		return;
	/* towards each end: the neighbour there, or the end itself, is
	 * linked to the neighbour on the other side */
	for (d = LRU_HEAD; d <= LRU_TAIL; d++) {
		if (l->lru[d] >= 0)
			ca->leaves[l->lru[d]].lru[!d] = l->lru[!d];
		else
			ca->lru_end[d] = l->lru[!d];
	}
	l->lru[LRU_HEAD] = l->lru[LRU_TAIL] = -1;
	l->in_lru = 0;
}

/* lru_push() - Move slot @i to end @d (LRU_HEAD: used now; LRU_TAIL: the
 * next victim) of the LRU list */
static void lru_push(struct ca *ca, int i, int d)
{
	struct leaf *l = &ca->leaves[i];

	lru_unlink(ca, i);
	l->lru[d] = -1;
	l->lru[!d] = ca->lru_end[d];
	if (ca->lru_end[d] >= 0)
		ca->leaves[ca->lru_end[d]].lru[d] = i;
	ca->lru_end[d] = i;
	if (ca->lru_end[!d] < 0)
		ca->lru_end[!d] = i;
	l->in_lru = 1;
}

static int hash_find(const struct ca *ca, const char *name)
{
	int i;

	for (i = ca->bucket[name_hash(name)]; i >= 0; i = ca->leaves[i].hnext)
		if (!strcmp(ca->leaves[i].name, name))
			return i;
	return -1;
}

/* Take slot @i out of the hash and mark it free (its bytes stay) */
static void slot_forget(struct ca *ca, int i)
{
	struct leaf *l = &ca->leaves[i];
	int *pp;

	if (!l->name[0])
		return;
	for (pp = &ca->bucket[name_hash(l->name)]; *pp >= 0;
	     pp = &ca->leaves[*pp].hnext)
		if (*pp == i) {
			*pp = l->hnext;
			break;
		}
	l->hnext = -1;
	l->name[0] = '\0';
}

/*
 * A slot to mint into: never used, else the least recent one that is
 * neither @keep nor pinned; -1 if every slot is pinned.
 */
static int slot_victim(struct ca *ca, int keep)
{
	int i;

	if (ca->nused < CA_CACHE_SIZE) {
		i = ca->nused++;
		ca->leaves[i].lru[LRU_HEAD] = ca->leaves[i].lru[LRU_TAIL] = -1;
		ca->leaves[i].hnext = -1;
		ca->leaves[i].pins = 0;
		return i;
	}
	for (i = ca->lru_end[LRU_TAIL]; i >= 0; i = ca->leaves[i].lru[LRU_HEAD])
		if (i != keep && !ca->leaves[i].pins)
			break;
	if (i >= 0)
		slot_forget(ca, i);
	return i;
}

/* ca_leaf() and ca_leaf_pin(): @pin NULL for no pin */
static int leaf_get(struct ca *ca, const char *hostname,
		    const br_x509_certificate **chain, size_t *chain_len,
		    const br_ec_private_key **key, int *pin)
{
	uint8_t ip[16];
	struct leaf *l;
	int ipn, i, old, b;

	if (!ca || !hostname || !chain || !chain_len || !key)
		return -1;
	ipn = ca_leaf_name_check(hostname, ip);
	if (ipn < 0)
		return -1;

	old = hash_find(ca, hostname);
	if (old >= 0 && ca->leaves[old].not_after - time(NULL) >= LEAF_RENEW) {
		i = old;
		goto found;
	}
	i = slot_victim(ca, old);
	if (i < 0)
		return -1;
	l = &ca->leaves[i];
	if (ca_mint_leaf(ca, hostname, ipn, ip, l)) {
		lru_push(ca, i, LRU_TAIL); /* free: the next victim */
		return -1;
	}
	/*
	 * The expiring one is forgotten but keeps its place in the LRU order:
	 * its bytes stay intact for as long as any other slot's would, for a
	 * caller still presenting it.
	 */
	if (old >= 0)
		slot_forget(ca, old);
	snprintf(l->name, sizeof(l->name), "%s", hostname);
	b = (int)name_hash(l->name);
	l->hnext = ca->bucket[b];
	ca->bucket[b] = i;
	l->chain[0].data = l->der;
	l->chain[0].data_len = l->len;
	l->chain[1].data = ca->cert;
	l->chain[1].data_len = ca->cert_len;
found:
	lru_push(ca, i, LRU_HEAD);
	*chain = ca->leaves[i].chain;
	*chain_len = 2;
	*key = &ca->leaf_sk;
	if (pin) {
		ca->leaves[i].pins++;
		*pin = i;
	}
	return 0;
}

int ca_leaf(struct ca *ca, const char *hostname,
	    const br_x509_certificate **chain, size_t *chain_len,
	    const br_ec_private_key **key)
{
	return leaf_get(ca, hostname, chain, chain_len, key, NULL);
}

int ca_leaf_pin(struct ca *ca, const char *hostname,
		const br_x509_certificate **chain, size_t *chain_len,
		const br_ec_private_key **key, int *pin)
{
	if (!pin)
		return -1;
	return leaf_get(ca, hostname, chain, chain_len, key, pin);
}

void ca_leaf_unpin(struct ca *ca, int pin)
{
	if (ca && pin >= 0 && pin < CA_CACHE_SIZE && ca->leaves[pin].pins > 0)
		ca->leaves[pin].pins--;
}

/* ----------------------------------------------------------------------
 * Sandbox bundle
 */

struct bundle {
	char *buf;
	size_t len, cap;
	int nomem;
};

static void bundle_add(struct bundle *b, const void *der, size_t len)
{
	size_t n = br_pem_encode(NULL, der, len, "CERTIFICATE", BR_PEM_LINE64);

	if (b->nomem)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 262144;
		char *nb;

		while (n + 1 > cap - b->len)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->nomem = 1;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	b->len += br_pem_encode(b->buf + b->len, der, len, "CERTIFICATE",
				BR_PEM_LINE64);
}

static int bundle_cb(void *ctx, const char *name, const uint8_t *der,
		     size_t len)
{
	if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE"))
		bundle_add(ctx, der, len);
	return 0;
}

int ca_write_bundle(const struct ca *ca, const char *out_path, char *err,
		    size_t errlen)
{
	struct bundle b = { 0 };
	const char *sys = trust_system_bundle();
	int rc = -1;

	if (sys) {
		uint8_t *buf;
		size_t len;

		if (trust_read_file(sys, 64u << 20, &buf, &len)) {
			fu_seterr(err, errlen, "%s: %s", sys, strerror(errno));
			return -1;
		}
		trust_pem_each(buf, len, bundle_cb, &b);
		free(buf);
	}
	bundle_add(&b, ca->cert, ca->cert_len);
	if (b.nomem) {
		fu_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (write_file_atomic(out_path, b.buf, b.len, 0644)) {
		fu_seterr(err, errlen, "%s: %s", out_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(b.buf);
	return rc;
}
