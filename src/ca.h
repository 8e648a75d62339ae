/* SPDX-License-Identifier: MIT */
/*
 * ca.h - the islo-net certificate authority: a P-256 CA kept in a state
 * directory, and leaf certificates minted on the fly (and cached) for the
 * names of intercepted TLS connections.
 */
#ifndef ISLO_CA_H
#define ISLO_CA_H

#include <stddef.h>

#include <bearssl.h>

struct ca;

#define CA_CERT_FILE   "ca.pem"
#define CA_KEY_FILE    "ca-key.pem"
#define CA_CACHE_SIZE  1024 /* leaf certificates kept (LRU) */

/**
 * ca_open() - Load the CA from @dir, or create it there
 * @dir:    State directory; created 0700 (with its parents) if missing
 * @err:    Message on failure
 * @errlen: Its size
 *
 * Files: ca.pem (the self-signed certificate) and ca-key.pem (PEM "EC
 * PRIVATE KEY", RFC 5915, mode 0600). A key file that group or others may
 * access is refused. Creation and loading hold an flock() on @dir/ca.lock,
 * so two islo-net starting together make one CA. Also generates the P-256
 * key that every leaf shares (memory only).
 *
 * Return: the CA, or NULL with @err set
 */
struct ca *ca_open(const char *dir, char *err, size_t errlen);

/* Frees everything; private keys are zeroed. NULL is fine. */
void ca_free(struct ca *ca);

/* Path of ca.pem; valid until ca_free(). */
const char *ca_cert_path(const struct ca *ca);

/**
 * ca_cert_pem() - The CA certificate as PEM
 * @ca:  CA
 * @pem: malloc'd, NUL-terminated PEM text on success
 * @len: Its length (without the NUL)
 * Return: 0, or -1 if out of memory
 */
int ca_cert_pem(const struct ca *ca, char **pem, size_t *len);

/**
 * ca_cert_der() - The CA certificate as DER
 * @ca:  CA
 * @len: Its length
 * Return: the bytes, valid until ca_free()
 */
const unsigned char *ca_cert_der(const struct ca *ca, size_t *len);

/**
 * ca_default_dir() - The default state directory
 * Return: malloc'd "$XDG_STATE_HOME/islo-net" (when set and absolute), else
 *	   "$HOME/.local/state/islo-net" (home from the password database if
 *	   $HOME is unset), or NULL if there is no home
 */
char *ca_default_dir(void);

/**
 * ca_leaf() - A server certificate chain for a host name
 * @ca:        CA
 * @hostname:  Normalised name (lowercase, no trailing dot; see
 *	       host_normalise()) or an IPv4/IPv6 literal
 * @chain:     On success, two certificates: the leaf, then the CA
 * @chain_len: On success, 2
 * @key:       On success, the leaf private key (shared by every leaf)
 *
 * The leaf: subject CN = @hostname (omitted for names over 64 bytes, the
 * X.520 upper bound; the SAN is then critical, RFC 5280 4.2.1.6), SAN
 * dNSName or iPAddress, random positive serial, valid from 1 hour ago for
 * 7 days (never past the CA's notAfter), CA:FALSE, keyUsage
 * digitalSignature, extKeyUsage serverAuth, authorityKeyIdentifier; signed
 * ECDSA P-256 with SHA-256.
 *
 * Leaves are cached (an LRU of CA_CACHE_SIZE names); a cached leaf with
 * less than a day of validity left is minted again, into another slot.
 *
 * Lifetime: the memory *@chain points at (the array, the leaf bytes, the
 * CA bytes) is never freed before ca_free(), so a kept pointer never
 * dangles. Its contents stay unchanged at least until CA_CACHE_SIZE - 1
 * later ca_leaf() calls for other names have succeeded (a slot is reused
 * only when it is the least recently used), so in particular until the
 * next ca_leaf() call for a different name; calls for the same name never
 * change it (a re-mint goes to another slot). A BearSSL server engine
 * keeps the pointer for its whole handshake: that is safe unless over a
 * thousand other names are minted meanwhile, in which case the handshake
 * may send a wrong certificate and fail (memory stays safe). Copy the leaf
 * if that matters. *@key stays valid until ca_free().
 *
 * Return: 0, or -1 if @hostname is not a valid name or IP literal, or
 *	   minting failed
 */
int ca_leaf(struct ca *ca, const char *hostname,
	    const br_x509_certificate **chain, size_t *chain_len,
	    const br_ec_private_key **key);

/**
 * ca_leaf_pin() - ca_leaf(), and keep the leaf's bytes until unpinned
 * @ca:        CA
 * @hostname:  As for ca_leaf()
 * @chain:     As for ca_leaf()
 * @chain_len: As for ca_leaf()
 * @key:       As for ca_leaf()
 * @pin:       On success, what to give ca_leaf_unpin()
 *
 * While pinned, the slot is never reused for another name or a re-mint, so
 * *@chain stays valid and unchanged however many other names are minted:
 * a TLS server engine may present it without a copy. Pins nest. When every
 * slot is pinned and the name is not cached, minting fails.
 *
 * Return: 0, or -1 as ca_leaf()
 */
int ca_leaf_pin(struct ca *ca, const char *hostname,
		const br_x509_certificate **chain, size_t *chain_len,
		const br_ec_private_key **key, int *pin);

/* Let go of a ca_leaf_pin(); a negative @pin is ignored. */
void ca_leaf_unpin(struct ca *ca, int pin);

/**
 * ca_write_bundle() - Write the bundle a sandbox trusts
 * @ca:       CA
 * @out_path: Output file, replaced atomically, mode 0644
 * @err:      Message on failure
 * @errlen:   Its size
 *
 * Every PEM certificate of the system bundle (the first that exists of
 * trust_system_bundles[]; none is fine), then the islo-net CA.
 *
 * Return: 0, or -1 with @err set
 */
int ca_write_bundle(const struct ca *ca, const char *out_path, char *err,
		    size_t errlen);

/* `islo-net ca path|export [--ca-dir DIR]`; argv[0] is "ca". */
int ca_cli_main(int argc, char **argv);

#endif
