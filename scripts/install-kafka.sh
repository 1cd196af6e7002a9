#!/usr/bin/env bash
# Fetch Apache Kafka's jars, at the version of the catalog's Kafka image, for the real-broker test
# (tests/test_kafka_real.py runs the rendered node script and users Job against a broker on 127.0.0.1).
#
# From Maven Central with the machine's Maven (the Kafka distribution tarball is not on a package
# registry): kafka_2.13 (the broker), kafka-tools (kafka-configs/kafka-acls) and log4j's SLF4J binding,
# copied into ${BBGEN_KAFKA_JARS:-$HOME/.cache/bbgen/kafka/<version>/lib}. Idempotent: a directory
# already holding kafka_2.13-<version>.jar is left alone; the copy is made beside it and swapped in.
# Without java or mvn it says so and returns 0 (the test skips, or fails where CI sets BBGEN_REQUIRE_KAFKA).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

version="$(sed -n 's/^  tag: "\([0-9.]*\)"$/\1/p' "${ROOT}/templates/kafka/component.yaml" | head -n 1)"
if [[ -z "${version}" ]]; then
    printf '[install-kafka] ERROR: no image tag in templates/kafka/component.yaml\n' >&2
    exit 1
fi
lib="${BBGEN_KAFKA_JARS:-$HOME/.cache/bbgen/kafka/${version}/lib}"
if [[ -f "${lib}/kafka_2.13-${version}.jar" ]]; then
    exit 0
fi
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    printf '[install-kafka] java or mvn missing: the real-broker test will not run\n' >&2
    exit 0
fi
printf '[install-kafka] fetching Kafka %s jars from Maven Central\n' "${version}" >&2
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cat > "${work}/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bbgen.test</groupId><artifactId>kafka-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
mvn -q -B -f "${work}/pom.xml" dependency:copy-dependencies -DoutputDirectory="${work}/lib" >&2
mkdir -p "$(dirname "${lib}")"
rm -rf "${lib}.old"
[[ -d "${lib}" ]] && mv "${lib}" "${lib}.old"
mv "${work}/lib" "${lib}"
rm -rf "${lib}.old"
