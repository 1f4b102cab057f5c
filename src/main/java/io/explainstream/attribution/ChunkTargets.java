package io.explainstream.attribution;

import java.util.List;

/**
 * Where the targets of a chunk's rows sit once the chunk's hidden states are flattened to
 * (N·L, H): entry m is target {@code targetIndex[m]} of row {@code row[m]}, predicted at flat
 * position {@code flatPosition[m]}, and its id is {@code targetId[m]}.
 */
record ChunkTargets(long[] flatPosition, long[] targetId, int[] row, int[] targetIndex) {

    static ChunkTargets of(List<PreparedEvent> events, int[] rowEvent, int length) {
        int m = 0;
        for (int event : rowEvent) {
            m += events.get(event).responseLength();
        }
        long[] flatPosition = new long[m];
        long[] targetId = new long[m];
        int[] row = new int[m];
        int[] targetIndex = new int[m];
        int next = 0;
        for (int r = 0; r < rowEvent.length; r++) {
            PreparedEvent event = events.get(rowEvent[r]);
            for (int t = 0; t < event.responseLength(); t++) {
                flatPosition[next] = (long) r * length + event.targetPosition(t);
                targetId[next] = event.targets()[t];
                row[next] = r;
                targetIndex[next] = t;
                next++;
            }
        }
        return new ChunkTargets(flatPosition, targetId, row, targetIndex);
    }

    int size() {
        return flatPosition.length;
    }

    /** (M) 1 where the entry is target t, else 0: selects f_t of every row for one backward pass. */
    float[] selector(int t) {
        float[] selector = new float[targetIndex.length];
        for (int m = 0; m < selector.length; m++) {
            selector[m] = targetIndex[m] == t ? 1 : 0;
        }
        return selector;
    }
}
