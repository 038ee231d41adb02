// SPDX-License-Identifier: MIT
/*
 * broker.c - daemon-wide operations on the broker state.
 */
#include "broker.h"

#include "log.h"

int bb_broker_reload(struct bb_broker *b)
{
	struct bb_policy np;
	char err[4096];
	int r;

	r = bb_policy_load(b->policy_file, b->policy_dir, &np, err, sizeof(err));
	if (r < 0) {
		log_err("the policy has errors and was not loaded (on reload the current one stays):");
		bb_log_lines(LOG_ERR, err);
		return r;
	}
	if (np.warnings)
		bb_log_lines(LOG_WARNING, np.warnings);
	bb_policy_free(&b->policy);
	b->policy = np;
	log_info("policy loaded: %zu roles from %zu files", b->policy.n_roles, b->policy.n_files);
	return 0;
}
