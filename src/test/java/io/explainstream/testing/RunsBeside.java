package io.explainstream.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Marks a test class that mostly waits: on brokers, a registry, child JVMs ({@link ServiceProcess}),
 * a web server or Chromium. Such a class runs beside the classes that compute (junit-platform.properties
 * enables that for it alone), one such class at a time and its methods one after another, so that
 * the suite's waiting overlaps with its computing on a 2-core machine.
 *
 * <p>Most such classes open no attribution engine in the test JVM. Those that do (a replay or the
 * service of a few dozen events at a few steps, in ReplayTest and DiffOnBrokerTest) load their own
 * model, never {@link BundledModel}'s, and take turns with the classes in order at DJL's one gradient
 * collector ({@link io.explainstream.attribution.GradientTurns}). A class may carry it only if it
 * neither captures standard error, sets system properties nor measures the test JVM's memory. Its
 * logs may reach a class that captures standard error meanwhile, which therefore reads only its
 * own lines.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(RunsBeside.LOCK)
public @interface RunsBeside {

    /** Held by each such class while it runs: one at a time. */
    String LOCK = "io.explainstream.testing.beside";
}
