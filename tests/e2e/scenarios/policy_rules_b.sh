# Every device policy rule is needed, the second half: the full policies, then
# each odd-numbered rule removed in turn (tests/e2e/lib/policy_rules.sh).
# timeout: 1800
SHARD=1
. "$E2E_LIB/policy_rules.sh"
