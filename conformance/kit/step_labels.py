"""The labels of the flows' steps that checks look up (run.step(label)): the flows in
scenarios.py name their steps with these, and the checks find them by the same constants.
Labels no check reads (login-2, refresh-again-1, …) are written where the flow names them."""

LOGIN = "login"  # FlowRun.login_password's default label

# The round trip of the reply-variant flows (scenarios._login_call_refresh_call): after LOGIN,
# a call, a refresh and a call; token-response checks judge each of these steps.
CALL_1 = "call-1"
REFRESH_1 = "refresh-1"
CALL_2 = "call-2"
ROUND_TRIP = (CALL_1, REFRESH_1, CALL_2)
# short-expiry makes the four calls of basic: a failed one is judged against basic's.
CALL_3 = "call-3"
CALL_4 = "call-4"

# basic, no-expires-in: the call after the server expired the access token.
CALL_AFTER_EXPIRY = "call-after-expiry"
# expiry: the calls after time passed beyond the access token's lifetime.
CALL_AFTER_EXPIRY_1 = "call-after-expiry-1"
CALL_AFTER_EXPIRY_2 = "call-after-expiry-2"

# restart
REFRESH_AFTER_RESTART_1 = "refresh-after-restart-1"
REFRESH_AFTER_RESTART_2 = "refresh-after-restart-2"

# no-rotation (after REFRESH_1)
REFRESH_2 = "refresh-2"
REFRESH_3 = "refresh-3"

# concurrency
PARALLEL_1 = "parallel-1"
PARALLEL_2 = "parallel-2"

# api-401
CALL_401 = "call-401"

# refresh-dies: the refresh whose token is born expired.
REFRESH_DEAD = "refresh-dead"

# bare-400
REFRESH_BARE_400 = "refresh-bare-400"
REFRESH_INVALID_REQUEST = "refresh-invalid-request"

# retry-after: the user's retry after a refresh the client gave up on.
REFRESH_503 = "refresh-503"
REFRESH_503_USER_RETRY = "refresh-503-user-retry"
REFRESH_429 = "refresh-429"
REFRESH_429_USER_RETRY = "refresh-429-user-retry"

# terminal-errors
REFRESH_INVALID_CLIENT = "refresh-invalid-client"
REFRESH_UNAUTHORIZED_CLIENT = "refresh-unauthorized-client"
REFRESH_INVALID_SCOPE = "refresh-invalid-scope"
