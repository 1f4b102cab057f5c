package io.explainstream.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Marks a test class that opens no attribution engine in the test JVM: its service, demo, replay
 * or diff runs in JVMs of its own ({@link ServiceProcess}), or it needs no engine at all (the
 * dashboard, the embedded platform, topic readers), so the test JVM holds only brokers, a
 * registry, clients, a web server or Chromium, and mostly waits. Such a class runs beside the
 * classes that do open the engine (junit-platform.properties enables that for it alone), one such
 * class at a time and its methods one after another, so that the suite's waiting overlaps with its
 * computing on a 2-core machine.
 *
 * <p>A class may carry it only if nothing in the test JVM opens the attribution engine (DJL allows
 * one open gradient collector per JVM, which the classes that run in order share) and it neither
 * captures standard error, sets system properties nor measures the test JVM's memory. Its logs may
 * reach a class that captures standard error meanwhile, which therefore reads only its own lines.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(RunsBeside.LOCK)
public @interface RunsBeside {

    /** Held by each such class while it runs: one at a time. */
    String LOCK = "io.explainstream.testing.beside";
}
