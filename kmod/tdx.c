// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod TDX backend: the TDX module, through the kernel's exported
 * helpers where the kernel has them and a raw TDCALL otherwise (compat.h).
 */
#include "backend.h"
#include "compat.h"

bool dp_tdx_available(void)
{
	return dp_tdx_guest();
}

static int dp_tdx_report(u8 *reportdata, u8 *tdreport)
{
	return dp_tdx_get_report0(reportdata, tdreport);
}

static int dp_tdx_extend(u8 index, u8 *digest)
{
	return dp_tdx_extend_rtmr(index, digest);
}

static int dp_tdx_verify(u8 *reportmac)
{
	return dp_tdx_verify_report(reportmac);
}

const struct dstack_pod_backend_ops dp_tdx_backend = {
	.name = "tdx",
	.id = DSTACK_POD_BACKEND_TDX,
	.get_report = dp_tdx_report,
	.extend_rtmr = dp_tdx_extend,
	.verify_report = dp_tdx_verify,
};
