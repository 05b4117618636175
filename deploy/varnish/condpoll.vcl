# flask-condpoll behind Varnish: add this to your VCL, after the backend.
# The builtin VCL still runs afterwards for every other request.

sub vcl_recv {
    # Polls and revalidations go to the app, which answers 304 (htmx 4: 204)
    # without rendering. As cache lookups, Varnish would drop If-None-Match
    # from the backend request and build the 304 itself after a full render.
    if (req.http.HX-Request || req.http.X-Up-Target || req.http.HX-PTag ||
        req.http.If-None-Match || req.http.If-Modified-Since) {
        return (pass);
    }
}
