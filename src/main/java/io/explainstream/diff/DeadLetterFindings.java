package io.explainstream.diff;

/**
 * What the two sides' dead letters say of the events a diff could not join. A count that needs a
 * side whose dead letters were not read is null, not 0: "0 dead-lettered live" beside "live not
 * read" said the events were missed live when the live service had refused them (a hostile test).
 *
 * @param replayDeadLetters the replay's dead letters in the range; null when not read
 * @param againstDeadLetters the other side's; null when not read
 * @param replayOnlyDeadLetteredAgainst of the events explained by the replay only, those the other side dead-lettered
 * @param againstOnlyDeadLetteredInReplay of the events explained on the other side only, those the replay dead-lettered
 * @param onBoth events explained on neither side, dead-lettered on both
 * @param inReplayOnly events explained on neither side, dead-lettered by the replay only
 * @param againstOnly events explained on neither side, dead-lettered by the other side only
 */
public record DeadLetterFindings(Long replayDeadLetters, Long againstDeadLetters, Long replayOnlyDeadLetteredAgainst,
        Long againstOnlyDeadLetteredInReplay, Long onBoth, Long inReplayOnly, Long againstOnly) {

    public static DeadLetterFindings of(DiffAggregate aggregate, SpillJoin.Counts counts) {
        boolean replayRead = counts.replayDeadLetters().unread() == null;
        boolean againstRead = counts.againstDeadLetters().unread() == null;
        boolean bothRead = replayRead && againstRead;
        return new DeadLetterFindings(replayRead ? counts.replayDeadLetters().total() : null, againstRead ? counts.againstDeadLetters().total() : null,
                againstRead ? aggregate.replayOnlyDeadLetteredAgainst() : null, replayRead ? aggregate.againstOnlyDeadLetteredInReplay() : null,
                bothRead ? aggregate.deadLetteredOnBoth() : null, bothRead ? aggregate.deadLetteredInReplayOnly() : null,
                bothRead ? aggregate.deadLetteredAgainstOnly() : null);
    }
}
