/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dstack-pod report/RTMR backends.
 *
 * A backend is the "hardware" below dstack-pod: the TDX module reached with
 * TDCALL, or the dstack_pod_sim module that imitates it for development.
 * Buffers follow the TDCALL rules even for the simulator, so that a caller
 * that works on one works on the other: directly mapped (kmalloc) memory,
 * TDREPORT 1024-byte aligned, REPORTDATA and digests 64-byte aligned,
 * REPORTMACSTRUCT 256-byte aligned.
 */
#ifndef DSTACK_POD_BACKEND_H
#define DSTACK_POD_BACKEND_H

#include <linux/bits.h>
#include <linux/types.h>

#include <linux/dstack_pod.h>

/* TDREPORT_STRUCT layout (TDX module ABI). */
#define DP_REPORT_TYPE_OFF		0	/* type, subtype, version, rsvd */
#define DP_REPORT_CPUSVN_OFF		16
#define DP_REPORT_TCB_INFO_HASH_OFF	32
#define DP_REPORT_TD_INFO_HASH_OFF	80
#define DP_REPORT_REPORTDATA_OFF	128
#define DP_REPORT_MAC_OFF		224
#define DP_REPORT_MAC_LEN		32
#define DP_REPORT_TEE_TCB_INFO_OFF	256
#define DP_REPORT_TEE_TCB_INFO_LEN	239
#define DP_REPORT_TDINFO_OFF		512
#define DP_REPORT_TDINFO_LEN		512
/* Offsets inside TDINFO. */
#define DP_TDINFO_ATTRIBUTES_OFF	0
#define DP_TDINFO_XFAM_OFF		8
#define DP_TDINFO_MRTD_OFF		16
#define DP_TDINFO_MRCONFIGID_OFF	64
#define DP_TDINFO_MROWNER_OFF		112
#define DP_TDINFO_MROWNERCONFIG_OFF	160
#define DP_TDINFO_RTMR_OFF(i)		(208 + 48 * (i))
#define DP_TDINFO_SERVTD_HASH_OFF	400

#define DP_REPORT_TYPE_TDX		0x81
#define DP_TD_ATTR_DEBUG		BIT_ULL(0)
#define DP_TD_ATTR_SEPT_VE_DISABLE	BIT_ULL(28)
#define DP_RTMR_COUNT			4
#define DP_RTMR_RUNTIME			3

/**
 * struct dstack_pod_backend_ops - one source of TDREPORTs and RTMR extends
 * @name: "tdx" or "sim", shown in sysfs
 * @id: enum dstack_pod_backend
 * @get_report: TDG.MR.REPORT: @tdreport (1024 bytes) for @reportdata (64)
 * @extend_rtmr: TDG.MR.RTMR.EXTEND: RTMR[@index] = SHA-384(RTMR || @digest)
 * @verify_report: TDG.MR.VERIFYREPORT: 0 when the MAC of @reportmac (256
 *	bytes) was made on this platform, -EBADMSG when it was not
 *
 * All return 0 or a negative errno; -EBUSY means "try again".
 */
struct dstack_pod_backend_ops {
	const char *name;
	u32 id;
	int (*get_report)(u8 *reportdata, u8 *tdreport);
	int (*extend_rtmr)(u8 index, u8 *digest);
	int (*verify_report)(u8 *reportmac);
};

/* Exported by dstack_pod_sim.ko, looked up with symbol_get(). */
extern const struct dstack_pod_backend_ops dstack_pod_sim_backend;

/* tdx.c */
extern const struct dstack_pod_backend_ops dp_tdx_backend;
bool dp_tdx_available(void);

#endif /* DSTACK_POD_BACKEND_H */
