package dev.backstop.repository;

import dev.backstop.db.RepositoryDao;
import dev.backstop.pipeline.ChunkIds;
import dev.backstop.pipeline.ObjectCodec;
import dev.backstop.storage.StorageTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The chunk key: the secret under which encrypted repositories name chunks (HMAC-SHA256), so that
 * storage never shows a hash of plaintext. It is made once per catalog, when the first encrypted
 * chunked snapshot is taken, and kept in the catalog; a copy encrypted to the recipient lies in each
 * repository ({@code repository/keys/<keyId>.key.zst.pgp}), so a restore host holding the private
 * key reads it there when its catalog does not have it. No operator secret is needed for it.
 */
public final class ChunkKeys {
    public static final String KEYS = "repository/keys/";

    private final RepositoryDao dao;
    private final ObjectCodec codec;
    private final Clock clock;
    private final Set<String> storedIn = ConcurrentHashMap.newKeySet();

    public ChunkKeys(RepositoryDao dao, ObjectCodec codec, Clock clock) {
        this.dao = dao;
        this.codec = codec;
        this.clock = clock;
    }

    public static String keyObject(String keyId) {
        return KEYS + keyId + ".key.zst.pgp";
    }

    synchronized ChunkIds forWriting(StorageTarget target) throws IOException {
        if (dao.firstKeyId().isEmpty()) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            dao.insertFirstKey(ChunkIds.keyId(key), HexFormat.of().formatHex(key), clock.instant());
        }
        String keyId = dao.firstKeyId().orElseThrow();
        byte[] key = HexFormat.of().parseHex(dao.key(keyId).orElseThrow());
        String object = keyObject(keyId);
        if (!storedIn.contains(target.name() + "/" + keyId)) {
            if (!target.exists(object)) {
                ByteArrayOutputStream encoded = new ByteArrayOutputStream();
                try (OutputStream out = codec.encode(encoded)) {
                    out.write(HexFormat.of().formatHex(key).getBytes(StandardCharsets.US_ASCII));
                }
                target.put(object, encoded.toByteArray(), "application/octet-stream");
            }
            storedIn.add(target.name() + "/" + keyId);
        }
        return ChunkIds.keyed(key);
    }

    /** The catalog's chunk key, without making one or storing anything. */
    java.util.Optional<ChunkIds> current() {
        return dao.firstKeyId().flatMap(dao::key).map(hex -> ChunkIds.keyed(HexFormat.of().parseHex(hex)));
    }

    ChunkIds forReading(StorageTarget target, String keyId, ObjectCodec codec) throws IOException {
        if (keyId == null) {
            throw new IOException("the chunk list is keyed but its manifest names no chunk key");
        }
        java.util.Optional<String> known = dao.key(keyId);
        if (known.isPresent()) {
            return ChunkIds.keyed(HexFormat.of().parseHex(known.get()));
        }
        String object = keyObject(keyId);
        byte[] key;
        try (InputStream in = codec.decode(target.open(object), true, "chunk key " + keyId + " is not in this catalog, and reading "
                + object + " from " + target.name() + " needs encryption.privateKeyFile on this host")) {
            key = HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        } catch (NoSuchFileException e) {
            throw new IOException("chunk key " + keyId + " is neither in this catalog nor in " + target.name() + " (" + object + ")");
        }
        if (!keyId.equals(ChunkIds.keyId(key))) {
            throw new IOException(object + " in " + target.name() + " does not hold chunk key " + keyId);
        }
        try {
            dao.insertKey(keyId, HexFormat.of().formatHex(key), clock.instant());
        } catch (RuntimeException readOnly) {
            // a read-only catalog (the CLI's offline restore): it is read from storage again next time
        }
        return ChunkIds.keyed(key);
    }
}
