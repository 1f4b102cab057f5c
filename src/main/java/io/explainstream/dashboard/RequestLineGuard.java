package io.explainstream.dashboard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * In front of the JDK's HTTP server, which answers a request whose target is not a valid URI
 * ({@code q=%}, a raw space or brace) itself, with an HTML page, before any handler sees it. This
 * listens on the dashboard's address, reads each connection's request line, answers such a request
 * with the API's JSON 400 and its reason, and passes every other connection through, byte for byte,
 * to the server on a loopback port. Only a connection's first request line is read: browsers and
 * the page encode what they send, and a client that typed a bad one sends it first.
 */
final class RequestLineGuard implements AutoCloseable {

    /** The longest request line read before passing a connection on unread (the server judges it). */
    private static final int MAX_LINE = 16 * 1024;

    private final ServerSocket listener;
    private final InetSocketAddress server;
    private final ExecutorService executor;
    private volatile boolean closing;

    /** Starts accepting on {@code listener} (bound), with threads of {@code executor}, for the server at {@code server}. */
    RequestLineGuard(ServerSocket listener, InetSocketAddress server, ExecutorService executor) {
        this.listener = listener;
        this.server = server;
        this.executor = executor;
        executor.execute(this::accept);
    }

    private void accept() {
        while (!closing) {
            try {
                Socket client = listener.accept();
                executor.execute(() -> serve(client));
            } catch (IOException e) {
                // closed: the loop ends; otherwise one failed accept, and the next is tried
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            byte[] line = requestLine(in);
            Optional<String> refusal = refusal(new String(line, StandardCharsets.ISO_8859_1));
            if (refusal.isPresent()) {
                refuse(client.getOutputStream(), refusal.get());
                return;
            }
            try (Socket upstream = new Socket(server.getAddress(), server.getPort())) {
                upstream.getOutputStream().write(line);
                executor.execute(() -> forward(in, upstream));
                // Unbuffered both ways: an SSE event reaches the page as soon as the server writes it.
                upstream.getInputStream().transferTo(client.getOutputStream());
            }
        } catch (IOException e) {
            // the client or the server went away
        }
    }

    /** The client's further bytes to the server; when the client has sent all, the server is told so. */
    private static void forward(InputStream client, Socket upstream) {
        try {
            client.transferTo(upstream.getOutputStream());
            upstream.shutdownOutput();
        } catch (IOException e) {
            // either side closed: the connection is over
        }
    }

    /** Bytes up to and with the first line feed, or {@link #MAX_LINE} of them, or all there are. */
    private static byte[] requestLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while (line.size() < MAX_LINE && (b = in.read()) != -1) {
            line.write(b);
            if (b == '\n') {
                break;
            }
        }
        return line.toByteArray();
    }

    /** Why a request line is answered 400 here: a target the server cannot read as a URI. */
    static Optional<String> refusal(String requestLine) {
        String[] parts = requestLine.strip().split(" ");
        if (parts.length != 3) {
            return Optional.empty(); // not a request line this judges: the server answers it
        }
        try {
            new URI(parts[1]);
            return Optional.empty();
        } catch (URISyntaxException e) {
            return Optional.of("malformed request (percent-encode it): " + e.getMessage());
        }
    }

    private static void refuse(OutputStream out, String reason) throws IOException {
        byte[] body = DashboardApi.error(400, reason).json().getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    @Override
    public void close() {
        closing = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
