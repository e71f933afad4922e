import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * A MongoDB-wire server for CI whose single-document updates are isolated (unlike FerretDB 1.x), so the store's
 * findOneAndUpdate path runs in tests. Usage: java -cp CLASSPATH MaestroMongoServer.java PORT
 * Its built-in versions report wire version 8; the Node driver needs >= 9, so it reports MongoDB 6.0 (wire 17).
 */
public class MaestroMongoServer {
  private static final MongoVersion MONGO_6_0 = new MongoVersion() {
    @Override
    public List<Integer> getVersionArray() {
      return List.of(6, 0, 0);
    }

    @Override
    public int getWireVersion() {
      return 17;
    }
  };

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    MongoServer server = new MongoServer(new MemoryBackend().version(MONGO_6_0));
    server.bind("127.0.0.1", port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    System.out.println("listening on 127.0.0.1:" + port);
    Thread.currentThread().join();
  }
}
