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
