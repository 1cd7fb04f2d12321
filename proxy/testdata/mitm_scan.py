"""mitmproxy addon for jpegveil's proxy benchmark: the cheapest JPEG work a
Python proxy stack does on a photo. For every JPEG request or response
body it walks the marker segments to each scan and reads the scan's
entropy-coded bytes one by one, removing byte stuffing (T.81 B.1.1.5) and
skipping restart markers, as a Python transform would before decoding
Huffman codes. The body is forwarded unchanged."""

from mitmproxy import http


def scan_bytes(data):
    """Returns the number of entropy-coded bytes in the scans of data."""
    n = len(data)
    i = 2
    total = 0
    while i + 4 <= n:
        if data[i] != 0xFF:
            return total
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:
            return total
        length = (data[i + 2] << 8) | data[i + 3]
        i += 2 + length
        if marker != 0xDA:
            continue
        out = bytearray()
        while i < n:
            b = data[i]
            if b != 0xFF:
                out.append(b)
                i += 1
                continue
            nxt = data[i + 1] if i + 1 < n else 0xD9
            if nxt == 0x00:
                out.append(0xFF)
                i += 2
            elif 0xD0 <= nxt <= 0xD7:
                i += 2
            else:
                break
        total += len(out)
    return total


def _jpeg(content):
    return content is not None and content[:3] == b"\xff\xd8\xff"


def request(flow: http.HTTPFlow) -> None:
    body = flow.request.raw_content
    if _jpeg(body):
        scan_bytes(body)


def response(flow: http.HTTPFlow) -> None:
    body = flow.response.raw_content
    if _jpeg(body):
        scan_bytes(body)
