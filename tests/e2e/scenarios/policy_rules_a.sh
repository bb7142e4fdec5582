# Every device policy rule is needed, the first half: the full policies, then
# each even-numbered rule removed in turn (tests/e2e/lib/policy_rules.sh).
# timeout: 1800
SHARD=0
. "$E2E_LIB/policy_rules.sh"
