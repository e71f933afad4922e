# Sourced by the start-*.sh scripts: wait_for_port PORT LOGFILE NAME waits up to 30 s for 127.0.0.1:PORT to accept
# connections; on success prints the MongoDB URL and exits 0, else prints the server's log to stderr and exits 1.
wait_for_port() {
  local port=$1 log=$2 name=$3
  for _ in $(seq 1 150); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))"; then
      echo "mongodb://127.0.0.1:$port/"
      exit 0
    fi
    sleep 0.2
  done
  echo "$name did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}
