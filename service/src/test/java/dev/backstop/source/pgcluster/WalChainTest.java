package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The WAL chain a point-in-time restore replays, planned from listings as storage would give them: plain units. */
class WalChainTest {
    private static final long SEGMENT = 16L << 20;

    private static String seg(int timeline, long number) {
        return Wal.name(timeline, number, SEGMENT);
    }

    private static TreeSet<String> stored(int timeline, long... numbers) {
        TreeSet<String> names = new TreeSet<>();
        for (long n : numbers) {
            names.add(seg(timeline, n));
        }
        return names;
    }

    private static WalChain plan(long startSegment, TreeMap<Integer, List<Wal.Switch>> histories, Map<Integer, TreeSet<String>> listed,
            Set<String> partials) {
        return WalChain.plan(seg(1, startSegment), startSegment * SEGMENT + 40, SEGMENT, histories,
                timeline -> listed.getOrDefault(timeline, new TreeSet<>()), partials::contains);
    }

    @Test
    void contiguousSegmentsThenThePartialOneBeingWritten() {
        WalChain chain = plan(2, new TreeMap<>(), Map.of(1, stored(1, 1, 2, 3, 4)), Set.of(seg(1, 5)));
        assertThat(chain.segments()).containsExactly(seg(1, 2), seg(1, 3), seg(1, 4), seg(1, 5));
        assertThat(chain.partialLast()).isTrue();
        assertThat(chain.timeline()).isEqualTo(1);
        assertThat(chain.gap()).isNull();
    }

    @Test
    void aGapEndsTheChainWithItsPartialSegmentAndIsNamed() {
        // 4 was lost (the slot was invalidated); its partial holds what was received; 6 and 7 came after.
        WalChain chain = plan(2, new TreeMap<>(), Map.of(1, stored(1, 2, 3, 6, 7)), Set.of(seg(1, 4), seg(1, 8)));
        assertThat(chain.segments()).containsExactly(seg(1, 2), seg(1, 3), seg(1, 4));
        assertThat(chain.partialLast()).isTrue();
        assertThat(chain.gap()).isEqualTo("the WAL chain has a gap: " + seg(1, 4) + " is missing before " + seg(1, 6)
                + "; restore a point before it, or from a base backup taken after it");

        WalChain withoutPartial = plan(2, new TreeMap<>(), Map.of(1, stored(1, 2, 3, 6)), Set.of());
        assertThat(withoutPartial.segments()).containsExactly(seg(1, 2), seg(1, 3));
        assertThat(withoutPartial.partialLast()).isFalse();
        assertThat(withoutPartial.gap()).contains(seg(1, 4) + " is missing before " + seg(1, 6));
    }

    @Test
    void aPromotionAfterTheBaseBackupIsFollowedOntoTheNewTimeline() {
        // Timeline 2 branched from 1 inside segment 4: recovery reads 1's 2, 3, then 2's 4 onward.
        TreeMap<Integer, List<Wal.Switch>> histories = new TreeMap<>(Map.of(2, List.of(new Wal.Switch(1, 4 * SEGMENT + 100))));
        WalChain chain = plan(2, histories, Map.of(1, stored(1, 2, 3, 4), 2, stored(2, 4, 5)), Set.of(seg(2, 6)));
        assertThat(chain.segments()).containsExactly(seg(1, 2), seg(1, 3), seg(2, 4), seg(2, 5), seg(2, 6));
        assertThat(chain.timeline()).isEqualTo(2);
        assertThat(chain.gap()).as("timeline 1's segment 4 is not read, so it is no gap").isNull();
    }

    @Test
    void aTimelineThatBranchedBeforeTheBaseBackupIsNotOnItsPath() {
        TreeMap<Integer, List<Wal.Switch>> histories = new TreeMap<>(Map.of(2, List.of(new Wal.Switch(1, SEGMENT + 100))));
        WalChain chain = plan(2, histories, Map.of(1, stored(1, 2, 3), 2, stored(2, 1, 2, 3)), Set.of());
        assertThat(chain.segments()).containsExactly(seg(1, 2), seg(1, 3));
        assertThat(chain.timeline()).isEqualTo(1);
    }

    @Test
    void nothingArchivedFromTheStartSegmentIsAnError() {
        assertThatThrownBy(() -> plan(2, new TreeMap<>(), Map.of(1, stored(1, 1)), Set.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no WAL from the base backup's start segment");
    }
}
