// SPDX-License-Identifier: GPL-2.0
/*
 * dstack_pod_sim: a software stand-in for the TDX module, for machines
 * without TDX.  DEVELOPMENT AND TESTING ONLY.
 *
 * It keeps the "hardware" state of one TD (four RTMRs and a report MAC key)
 * and implements TDG.MR.REPORT, TDG.MR.RTMR.EXTEND and TDG.MR.VERIFYREPORT
 * with the real layouts and arithmetic:
 *  - TDREPORT_STRUCT byte-compatible with the TDX module's;
 *  - tee_tcb_info_hash = SHA-384(TEE_TCB_INFO), tee_info_hash =
 *    SHA-384(TDINFO);
 *  - RTMR[i] = SHA-384(RTMR[i] || digest);
 *  - the MAC is HMAC-SHA-256 over REPORTMACSTRUCT bytes [0, 224) keyed by a
 *    secret drawn at load (the CPU's key and algorithm are not reachable by
 *    software; only this module can check its MACs, as only the CPU can).
 * Its reports cannot be mistaken for production ones: the TD DEBUG attribute
 * is set and MRTD is the fixed ASCII string DP_SIM_MRTD.
 *
 * The state lives in this module, not in dstack_pod, so that reloading
 * dstack_pod keeps RTMR values as a real TD would.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/string.h>
#include "backend.h"
#include "compat.h"

#define DP_SIM_MRTD		"dstack-pod SIMULATED TD -- NOT FOR PRODUCTION --"
#define DP_SIM_TD_ATTRIBUTES	(DP_TD_ATTR_DEBUG | DP_TD_ATTR_SEPT_VE_DISABLE)
#define DP_SIM_XFAM		0x00000000000602e7ULL
#define DP_SIM_TCB_VALID	0x00000000000001ffULL
#define DP_SIM_MAC_KEY_LEN	32

/* Offsets inside TEE_TCB_INFO. */
#define DP_TCB_VALID_OFF	0
#define DP_TCB_SVN_OFF		8
#define DP_TCB_MRSEAM_OFF	24

static const u8 dp_sim_mrtd[DSTACK_POD_DIGEST_LEN] __nonstring = DP_SIM_MRTD;
static const u8 dp_sim_tee_tcb_svn[16] = { 0x01, 0x00, 0x01 };
static const u8 dp_sim_mrseam[DSTACK_POD_DIGEST_LEN] __nonstring =
	"dstack-pod simulated TDX module (not Intel SEAM)";

static struct {
	struct mutex lock;	/* RTMR updates and snapshots */
	u8 rtmr[DP_RTMR_COUNT][DSTACK_POD_DIGEST_LEN];
	struct crypto_shash *sha384;
	struct crypto_shash *hmac;
} sim = {
	.lock = __MUTEX_INITIALIZER(sim.lock),
};

static int dp_sim_mac(const u8 *reportmac, u8 *mac)
{
	return crypto_shash_tfm_digest(sim.hmac, reportmac, DP_REPORT_MAC_OFF,
				       mac);
}

static int dp_sim_get_report(u8 *reportdata, u8 *rep)
{
	u8 *tcb = rep + DP_REPORT_TEE_TCB_INFO_OFF;
	u8 *td = rep + DP_REPORT_TDINFO_OFF;
	int err;

	memset(rep, 0, DSTACK_POD_TDREPORT_LEN);

	put_unaligned_le64(DP_SIM_TCB_VALID, tcb + DP_TCB_VALID_OFF);
	memcpy(tcb + DP_TCB_SVN_OFF, dp_sim_tee_tcb_svn,
	       sizeof(dp_sim_tee_tcb_svn));
	memcpy(tcb + DP_TCB_MRSEAM_OFF, dp_sim_mrseam, sizeof(dp_sim_mrseam));

	put_unaligned_le64(DP_SIM_TD_ATTRIBUTES, td + DP_TDINFO_ATTRIBUTES_OFF);
	put_unaligned_le64(DP_SIM_XFAM, td + DP_TDINFO_XFAM_OFF);
	memcpy(td + DP_TDINFO_MRTD_OFF, dp_sim_mrtd, sizeof(dp_sim_mrtd));
	mutex_lock(&sim.lock);
	memcpy(td + DP_TDINFO_RTMR_OFF(0), sim.rtmr, sizeof(sim.rtmr));
	mutex_unlock(&sim.lock);

	rep[DP_REPORT_TYPE_OFF] = DP_REPORT_TYPE_TDX;
	err = crypto_shash_tfm_digest(sim.sha384, tcb,
				      DP_REPORT_TEE_TCB_INFO_LEN,
				      rep + DP_REPORT_TCB_INFO_HASH_OFF);
	if (!err)
		err = crypto_shash_tfm_digest(sim.sha384, td,
					      DP_REPORT_TDINFO_LEN,
					      rep + DP_REPORT_TD_INFO_HASH_OFF);
	if (err)
		return err;
	memcpy(rep + DP_REPORT_REPORTDATA_OFF, reportdata,
	       DSTACK_POD_REPORTDATA_LEN);
	return dp_sim_mac(rep, rep + DP_REPORT_MAC_OFF);
}

static int dp_sim_extend_rtmr(u8 index, u8 *digest)
{
	u8 buf[2 * DSTACK_POD_DIGEST_LEN];
	int err;

	if (index >= DP_RTMR_COUNT)
		return -EINVAL;
	mutex_lock(&sim.lock);
	memcpy(buf, sim.rtmr[index], DSTACK_POD_DIGEST_LEN);
	memcpy(buf + DSTACK_POD_DIGEST_LEN, digest, DSTACK_POD_DIGEST_LEN);
	err = crypto_shash_tfm_digest(sim.sha384, buf, sizeof(buf),
				      sim.rtmr[index]);
	mutex_unlock(&sim.lock);
	return err;
}

static int dp_sim_verify_report(u8 *reportmac)
{
	u8 mac[DP_REPORT_MAC_LEN];
	int err;

	err = dp_sim_mac(reportmac, mac);
	if (err)
		return err;
	if (crypto_memneq(mac, reportmac + DP_REPORT_MAC_OFF, sizeof(mac)))
		return -EBADMSG;
	return 0;
}

const struct dstack_pod_backend_ops dstack_pod_sim_backend = {
	.name = "sim",
	.id = DSTACK_POD_BACKEND_SIM,
	.get_report = dp_sim_get_report,
	.extend_rtmr = dp_sim_extend_rtmr,
	.verify_report = dp_sim_verify_report,
};
EXPORT_SYMBOL_GPL(dstack_pod_sim_backend);

static int __init dp_sim_init(void)
{
	u8 key[DP_SIM_MAC_KEY_LEN];
	int err;

	sim.sha384 = crypto_alloc_shash("sha384", 0, 0);
	if (IS_ERR(sim.sha384))
		return PTR_ERR(sim.sha384);
	sim.hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(sim.hmac)) {
		err = PTR_ERR(sim.hmac);
		goto err_sha;
	}
	get_random_bytes(key, sizeof(key));
	err = crypto_shash_setkey(sim.hmac, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	if (err)
		goto err_hmac;
	pr_warn("SIMULATED TDX backend loaded: reports carry the DEBUG attribute and no hardware signs them; development only\n");
	return 0;

err_hmac:
	crypto_free_shash(sim.hmac);
err_sha:
	crypto_free_shash(sim.sha384);
	return err;
}

static void __exit dp_sim_exit(void)
{
	crypto_free_shash(sim.hmac);
	crypto_free_shash(sim.sha384);
	pr_info("unloaded\n");
}

module_init(dp_sim_init);
module_exit(dp_sim_exit);

MODULE_DESCRIPTION("dstack-pod simulated TDX backend (development only)");
MODULE_AUTHOR("dstack-pod developers");
MODULE_LICENSE("GPL");
