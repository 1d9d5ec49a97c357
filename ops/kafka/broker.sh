#!/usr/bin/env bash
# A single-node Apache Kafka 4.x test broker (KRaft, broker+controller in one JVM) on 127.0.0.1.
#
# Usage: bash ops/kafka/broker.sh start|resume|stop|status
#   start   resolves the broker jars with Maven once (ops/kafka/pom.xml), formats fresh storage and
#           starts the broker in the background; waits until it serves, then prints its bootstrap
#           address (127.0.0.1:19092) as the last line on stdout. Already running: prints the address.
#   resume  like start, but keeps the storage of the last run (topics, offsets): a broker restart.
#           Used by the fault tests; with no storage yet it is a plain start.
#   stop    SIGTERM, wait, then SIGKILL. Not running: does nothing.
#   status  exit 0 and print the address if running, else exit 3.
# Progress and errors go to stderr; stdout carries only the address.
#
# Environment:
#   KAFKA_VERSION             Kafka release from Maven Central (default 4.4.0; 4.1.1 works too)
#   TREASURY_KAFKA_HOME       where the jars go (default ~/.cache/treasury/kafka-$KAFKA_VERSION)
#   TREASURY_KAFKA_DATA       data, logs and pid file (default /tmp/treasury-kafka); wiped at each start
#   KAFKA_PORT                client listener port (default 19092)
#   KAFKA_CONTROLLER_PORT     KRaft controller port (default 19093)
#   KAFKA_HEAP_OPTS           JVM heap (default -Xms128m -Xmx512m)
#   KAFKA_START_TIMEOUT       seconds to wait for the broker (default 90)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_HOME="${TREASURY_KAFKA_HOME:-${HOME:-/root}/.cache/treasury/kafka-${KAFKA_VERSION}}"
DATA="${TREASURY_KAFKA_DATA:-/tmp/treasury-kafka}"
case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
HOST=127.0.0.1
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30

PID_FILE="$DATA/broker.pid"
ADDRESS_FILE="$DATA/address"
LOG_DIR="$DATA/logs"
LOG_FILE="$LOG_DIR/server.log"
OUT_FILE="$LOG_DIR/broker.out"

log() { echo "broker.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- state ----------------------------------------------------------------------------------

running_pid() {  # prints the broker's pid if our broker runs, else returns 1
    local pid
    [ -f "$PID_FILE" ] || return 1
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid: the process must be our kafka.Kafka
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
    echo "$pid"
}

port_open() {  # true if something accepts TCP connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

take_lock() {  # serialise start/stop between concurrent callers (e.g. pytest-xdist workers)
    mkdir -p "$DATA"
    exec 9>"$DATA/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w $((START_TIMEOUT + 120)) 9 || die "timed out waiting for the lock $DATA/.lock"
    fi
}

# --- prerequisites --------------------------------------------------------------------------

check_java() {
    command -v java >/dev/null 2>&1 || die "java not found on PATH: Kafka ${KAFKA_VERSION} needs a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
    local major
    major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
    major="${major#1.}"
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the Java version of $(command -v java)"
    [ "$major" -ge 17 ] || die "Kafka ${KAFKA_VERSION} needs Java 17+, found Java $major at $(command -v java)"
}

ensure_jars() {  # once per version: mvn dependency:copy-dependencies into $KAFKA_HOME/libs
    [ -f "$KAFKA_HOME/libs/.complete" ] && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH: it is needed once to fetch the Kafka jars into $KAFKA_HOME/libs (apt-get install maven)"
    log "resolving Apache Kafka ${KAFKA_VERSION} jars into $KAFKA_HOME/libs (once)"
    mkdir -p "$KAFKA_HOME"
    local tmp="$KAFKA_HOME/libs.tmp.$$"
    rm -rf "$tmp"
    if ! mvn -B -q -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$KAFKA_HOME/mvn.log" 2>&1; then
        tail -n 40 "$KAFKA_HOME/mvn.log" >&2 || true
        rm -rf "$tmp"
        die "Maven could not resolve org.apache.kafka:kafka_2.13:${KAFKA_VERSION} (full log: $KAFKA_HOME/mvn.log)"
    fi
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-${KAFKA_VERSION}.jar missing after Maven ran"
    touch "$tmp/.complete"
    rm -rf "$KAFKA_HOME/libs"
    mv "$tmp" "$KAFKA_HOME/libs"
}

# --- configuration --------------------------------------------------------------------------

random_cluster_id() {  # a Kafka Uuid: 16 random bytes, base64url without padding (22 chars)
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

write_config() {
    cat >"$DATA/server.properties" <<EOF
# generated by ops/kafka/broker.sh: a fast single-node test broker, not for production
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${DATA}/kraft
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.ms=3600000
log.retention.bytes=67108864
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
EOF
    cat >"$DATA/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${LOG_FILE}
appender.file.filePattern = ${LOG_FILE}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
EOF
}

java_args() {  # fills JAVA_ARGS: java with the broker's classpath and JVM options; main class and args follow
    local heap
    read -r -a heap <<<"$HEAP_OPTS"
    JAVA_ARGS=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$DATA/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR"
        -cp "$KAFKA_HOME/libs/*")
}

# --- commands -------------------------------------------------------------------------------

tail_logs() {
    local f
    for f in "$OUT_FILE" "$LOG_FILE"; do
        if [ -s "$f" ]; then
            echo "----- last lines of $f -----" >&2
            tail -n 40 "$f" >&2
        fi
    done
}

do_start() {
    take_lock
    local stale
    if stale="$(running_pid)"; then
        if [ -s "$ADDRESS_FILE" ]; then
            log "already running (pid $stale)"
            cat "$ADDRESS_FILE"
            return 0
        fi
        # its starter died before the broker was ready (we hold the lock, so none is starting now)
        log "killing a broker whose start never completed (pid $stale)"
        kill -KILL "$stale" 2>/dev/null || true
        while kill -0 "$stale" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$PID_FILE" "$ADDRESS_FILE"
    [[ "$PORT" =~ ^[0-9]+$ && "$CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must be numbers"
    [ "$PORT" != "$CONTROLLER_PORT" ] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
    local p
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then
            die "port $HOST:$p is already in use by another process; choose others with KAFKA_PORT / KAFKA_CONTROLLER_PORT"
        fi
    done
    check_java
    ensure_jars

    if [ "${1:-fresh}" = keep ] && [ -f "$DATA/kraft/meta.properties" ]; then
        # resume: the same storage (topics, offsets, committed groups), as after a broker restart
        log "keeping the storage in $DATA/kraft"
        mkdir -p "$LOG_DIR"
        rm -f "$LOG_FILE"
        write_config
        java_args
    else
        rm -rf "$DATA/kraft" "$LOG_DIR"
        mkdir -p "$DATA/kraft" "$LOG_DIR"
        write_config
        local cluster_id
        cluster_id="$(random_cluster_id)"
        log "formatting storage in $DATA/kraft (cluster id $cluster_id)"
        java_args
        if ! "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --cluster-id="$cluster_id" \
            --config "$DATA/server.properties" >"$LOG_DIR/format.out" 2>&1; then
            cat "$LOG_DIR/format.out" >&2
            die "formatting the Kafka storage failed"
        fi
    fi

    log "starting Kafka ${KAFKA_VERSION} on $HOST:$PORT (controller $HOST:$CONTROLLER_PORT, data $DATA)"
    # its own session and no inherited descriptors: the broker outlives this script and its caller's pipes
    setsid "${JAVA_ARGS[@]}" kafka.Kafka "$DATA/server.properties" >"$OUT_FILE" 2>&1 </dev/null 9>&- &
    local pid=$!
    echo "$pid" >"$PID_FILE"

    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail_logs
            rm -f "$PID_FILE"
            die "the broker exited during start-up (logs in $LOG_DIR)"
        fi
        if grep -qs 'Kafka Server started' "$LOG_FILE" && port_open "$PORT"; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail_logs
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$PID_FILE"
            die "the broker did not serve on $HOST:$PORT within ${START_TIMEOUT}s (logs in $LOG_DIR)"
        fi
        sleep 0.5
    done
    echo "$HOST:$PORT" >"$ADDRESS_FILE"
    log "ready (pid $pid)"
    echo "$HOST:$PORT"
}

do_stop() {
    take_lock
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE" "$ADDRESS_FILE"
        log "not running"
        return 0
    fi
    log "stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "still running after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.25
    done
    rm -f "$PID_FILE" "$ADDRESS_FILE"
    log "stopped"
}

do_status() {
    local pid
    if pid="$(running_pid)" && [ -s "$ADDRESS_FILE" ]; then
        log "running (pid $pid)"
        cat "$ADDRESS_FILE"
        return 0
    fi
    log "not running"
    return 3
}

case "${1:-}" in
    start) do_start fresh ;;
    resume) do_start keep ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 start|resume|stop|status" >&2; exit 2 ;;
esac
