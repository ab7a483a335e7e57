"""Constants shared by the server, its deployers and the Python API (importing this loads nothing)."""

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_BODY = 10 * 1024 * 1024  # bytes of one request body
PREDICT_TIMEOUT = 30.0  # seconds one prediction may take before the answer is a 504
TOKEN_ENV = "JUPYTER_MLOPS_SERVE_TOKEN"  # how a deployer hands the token to its server process
