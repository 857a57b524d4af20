package dev.wardstream.peer;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * wardstream's hr-high rule as a Kafka Streams application: heart rate above 130 for 10 s of
 * event time starts an alert, back to 125 or below (hysteresis 5) for 10 s ends it; readings
 * are de-duplicated on (deviceId, seq) (a reading at or below a device's highest seq is a
 * duplicate). State in two persistent stores with changelog topics; at-least-once with a 5 s
 * commit interval, like wardstream's processor; static membership so a restarted instance
 * takes its partitions back without waiting out the session.
 *
 *   java -cp … dev.wardstream.peer.ThresholdApp <bootstrap> <vitals topic> <alerts topic> <application id> <schema file> <state dir>
 */
public final class ThresholdApp {
  static final double ABOVE = 130, CLEAR_AT = 125;
  static final long SUSTAIN_MS = 10_000, CLEAR_MS = 10_000;

  /** Episode per patient: "normal", "pending:<since>", "active:<onset>", "clearing:<onset>:<since>". */
  static final class Rule implements Processor<byte[], byte[], String, String> {
    private final GenericDatumReader<GenericRecord> reader;
    private ProcessorContext<String, String> ctx;
    private KeyValueStore<String, String> episodes;
    private KeyValueStore<String, Long> seen;
    private BinaryDecoder decoder;

    Rule(Schema schema) { this.reader = new GenericDatumReader<>(schema); }

    @Override public void init(ProcessorContext<String, String> context) {
      ctx = context;
      episodes = context.getStateStore("episodes");
      seen = context.getStateStore("seen");
    }

    @Override public void process(Record<byte[], byte[]> rec) {
      GenericRecord r;
      try {
        byte[] v = rec.value(); // Confluent wire format: magic byte and 4-byte schema id, then Avro
        decoder = DecoderFactory.get().binaryDecoder(v, 5, v.length - 5, decoder);
        r = reader.read(null, decoder);
      } catch (Exception e) { return; }
      String device = r.get("deviceId").toString();
      long seq = ((Number) r.get("seq")).longValue();
      Long max = seen.get(device);
      if (max != null && seq <= max) return; // duplicate
      seen.put(device, seq);
      Object hrObj = r.get("heartRate");
      if (hrObj == null) return;
      double hr = ((Number) hrObj).doubleValue();
      long ts = ((Number) r.get("ts")).longValue();
      String pid = r.get("patientId").toString();
      String cur = episodes.get(pid);
      String next = step(cur == null ? "normal" : cur, hr, ts, pid);
      if (!next.equals(cur)) episodes.put(pid, next);
    }

    private String step(String cur, double hr, long ts, String pid) {
      String[] p = cur.split(":");
      switch (p[0]) {
        case "normal": return hr > ABOVE ? "pending:" + ts : "normal";
        case "pending": {
          if (hr <= ABOVE) return "normal";
          long since = Long.parseLong(p[1]);
          if (ts - since >= SUSTAIN_MS) { emit(pid, "start", since, ts, hr); return "active:" + since; }
          return cur;
        }
        case "active": return hr <= CLEAR_AT ? "clearing:" + p[1] + ":" + ts : cur;
        default: { // clearing
          if (hr > CLEAR_AT) return "active:" + p[1];
          if (ts - Long.parseLong(p[2]) >= CLEAR_MS) { emit(pid, "end", Long.parseLong(p[1]), ts, hr); return "normal"; }
          return cur;
        }
      }
    }

    private void emit(String pid, String phase, long onset, long ts, double hr) {
      String json = "{\"patientId\":\"" + pid + "\",\"rule\":\"hr-high\",\"phase\":\"" + phase + "\",\"onsetTs\":" + onset + ",\"eventTs\":" + ts + ",\"value\":" + hr + "}";
      ctx.forward(new Record<>(pid, json, ts));
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], vitals = args[1], alerts = args[2], appId = args[3];
    Schema schema = new Schema.Parser().parse(new File(args[4]));
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 5000);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    props.put(StreamsConfig.consumerPrefix("group.instance.id"), appId + "-1");
    props.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 6000);
    StreamsBuilder b = new StreamsBuilder();
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("episodes"), Serdes.String(), Serdes.String()));
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("seen"), Serdes.String(), Serdes.Long()));
    b.stream(vitals, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
      .process(() -> new Rule(schema), "episodes", "seen")
      .to(alerts, Produced.with(Serdes.String(), Serdes.String()));
    KafkaStreams streams = new KafkaStreams(b.build(), props);
    streams.setStateListener((now, before) -> System.out.println("STATE " + before + " -> " + now + " at " + System.currentTimeMillis()));
    Runtime.getRuntime().addShutdownHook(new Thread(streams::close));
    streams.start();
  }
}
