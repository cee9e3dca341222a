// SPDX-License-Identifier: GPL-2.0
/*
 * The uoa_trusted module parameter: a string, which the Rust module! macro
 * cannot declare, writable by root at run time
 * (/sys/module/uoa/parameters/uoa_trusted). Its callbacks are Rust
 * (uoa_trusted.rs): they parse the list and publish it under RCU.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

int uoa_trusted_set(const char *val, const struct kernel_param *kp);
int uoa_trusted_get(char *buffer, const struct kernel_param *kp);
void uoa_trusted_free(void *arg);

static const struct kernel_param_ops uoa_trusted_ops = {
	.set = uoa_trusted_set,
	.get = uoa_trusted_get,
	.free = uoa_trusted_free,
};
module_param_cb(uoa_trusted, &uoa_trusted_ops, NULL, 0644);
MODULE_PARM_DESC(uoa_trusted,
		 "load balancers whose UOA is stored: IPv4/IPv6 prefixes, comma-separated; empty: any (default)");

/*
 * v6_to_v4_prefix_str: ByteDance's module's parameter, read once at load
 * (Config, uoa_rs.rs): the 96-bit prefix whose IPv6 clients lookups 2049
 * and 2050 answer as IPv4 when v6_to_v4_enable=1.
 */
const char *uoa_v6_to_v4_prefix_str(void);

static char *v6_to_v4_prefix_str = "64:ff9b::";
module_param(v6_to_v4_prefix_str, charp, 0444);
MODULE_PARM_DESC(v6_to_v4_prefix_str,
		 "with v6_to_v4_enable=1: IPv6 prefix (its first 96 bits count) of clients answered as IPv4 by lookups 2049 and 2050 (default 64:ff9b::)");

const char *uoa_v6_to_v4_prefix_str(void)
{
	return v6_to_v4_prefix_str;
}
