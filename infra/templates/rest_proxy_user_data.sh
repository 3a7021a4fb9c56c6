#!/bin/bash
# User data of the REST proxy host (rendered by infra/ec2.py; $${...} are shell variables).
# Installs Java, the Kafka CLI and the Confluent REST proxy with the MSK IAM auth library, creates the
# deployment's topics and runs the REST proxy as a systemd service on port ${port}.
set -euo pipefail
exec > >(tee /var/log/rest-proxy-setup.log) 2>&1

BOOTSTRAP="${bootstrap}"
dnf install -y java-17-amazon-corretto-headless

cd /opt
curl -fsSL -o kafka.tgz "https://archive.apache.org/dist/kafka/${kafka_version}/kafka_2.13-${kafka_version}.tgz"
tar xzf kafka.tgz && ln -sfn "/opt/kafka_2.13-${kafka_version}" /opt/kafka
curl -fsSL -o confluent.tgz \
  "https://packages.confluent.io/archive/${confluent_minor}/confluent-community-${confluent_version}.tar.gz"
tar xzf confluent.tgz && ln -sfn "/opt/confluent-${confluent_version}" /opt/confluent
curl -fsSL -o /opt/aws-msk-iam-auth.jar \
  "https://github.com/aws/aws-msk-iam-auth/releases/download/v${iam_auth_version}/aws-msk-iam-auth-${iam_auth_version}-all.jar"
cp /opt/aws-msk-iam-auth.jar /opt/kafka/libs/
cp /opt/aws-msk-iam-auth.jar /opt/confluent/share/java/kafka-rest/

cat > /opt/kafka/client.properties <<'PROPS'
security.protocol=SASL_SSL
sasl.mechanism=AWS_MSK_IAM
sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;
sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler
PROPS

for topic in ${topics}; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$$BOOTSTRAP" --command-config /opt/kafka/client.properties \
    --create --if-not-exists --topic "$$topic" --partitions ${partitions} --replication-factor ${replication}
done

cat > /opt/confluent/etc/kafka-rest/kafka-rest.properties <<PROPS
id=kafka-rest-${name}
listeners=http://0.0.0.0:${port}
bootstrap.servers=$$BOOTSTRAP
client.security.protocol=SASL_SSL
client.sasl.mechanism=AWS_MSK_IAM
client.sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;
client.sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler
PROPS

useradd --system --no-create-home kafkarest || true
install -d -o kafkarest /var/log/kafka-rest
cat > /etc/systemd/system/kafka-rest.service <<'UNIT'
[Unit]
Description=Confluent REST proxy in front of MSK
After=network-online.target

[Service]
User=kafkarest
Environment=LOG_DIR=/var/log/kafka-rest
ExecStart=/opt/confluent/bin/kafka-rest-start /opt/confluent/etc/kafka-rest/kafka-rest.properties
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now kafka-rest
