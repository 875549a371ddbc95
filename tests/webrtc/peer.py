"""A real WebRTC peer (aiortc) for the WHIP and WHEP tests.

  peer.py node whip|whep PORT
      A media node's WHIP (or WHEP) endpoint on 127.0.0.1:PORT at
      /{app}/{stream}/whip (or /whep): answers an SDP offer with 201, a
      session Location and its SDP answer. WHIP: receives the client's
      video and prints {"framesReceived": N} at 10 and 50 frames. WHEP:
      sends a test video track. Prints {"ready": true} once listening.

  peer.py client whip|whep URL
      What OBS or a browser does with a WHIP/WHEP URL: POSTs its offer to
      URL, follows redirects (a 307 keeps the method and the offer), sets
      the answer, and sends (WHIP) or receives (WHEP) video for a few
      seconds. Prints one JSON line: the redirects it followed, the final
      status and URL, whether ICE and DTLS connected, frames received.
"""

import asyncio
import json
import sys
import uuid

from aiohttp import ClientSession, ClientTimeout, web
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack


def say(**fields):
    print(json.dumps(fields), flush=True)


async def count_frames(track, counter, marks=()):
    while True:
        try:
            await track.recv()
        except Exception:
            return
        counter["frames"] += 1
        if counter["frames"] in marks:
            say(framesReceived=counter["frames"])


async def node(kind, port):
    peers = set()
    counter = {"frames": 0}

    async def offer(request):
        if request.content_type != "application/sdp":
            return web.Response(status=415, text="an SDP offer, please")
        pc = RTCPeerConnection()
        peers.add(pc)
        if kind == "whip":
            pc.on("track", lambda track: asyncio.ensure_future(count_frames(track, counter, (10, 50))))
        else:
            pc.addTrack(VideoStreamTrack())
        await pc.setRemoteDescription(RTCSessionDescription(sdp=await request.text(), type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(
            status=201,
            body=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Location": f"/session/{uuid.uuid4()}"},
        )

    app = web.Application()
    app.router.add_post("/{app}/{stream}/" + kind, offer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    say(ready=True)
    await asyncio.Event().wait()


async def client(kind, url):
    pc = RTCPeerConnection()
    counter = {"frames": 0}
    if kind == "whip":
        pc.addTrack(VideoStreamTrack())
    else:
        pc.addTransceiver("video", direction="recvonly")
        pc.on("track", lambda track: asyncio.ensure_future(count_frames(track, counter)))
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state():
        if pc.connectionState == "connected":
            connected.set()

    # aiortc gathers its candidates here: the offer is complete (no trickle).
    await pc.setLocalDescription(await pc.createOffer())
    async with ClientSession(timeout=ClientTimeout(total=15)) as http:
        async with http.post(
            url, data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
        ) as response:
            redirects = [{"status": r.status, "location": r.headers.get("Location")} for r in response.history]
            status, final_url, answer = response.status, str(response.url), await response.text()
            session = response.headers.get("Location")
    result = {"redirects": redirects, "status": status, "url": final_url, "session": session}
    if status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(connected.wait(), 10)
            result["connected"] = True
            await asyncio.sleep(3)  # media flows
        except asyncio.TimeoutError:
            result["connected"] = False
    result["framesReceived"] = counter["frames"]
    await pc.close()
    say(**result)


if __name__ == "__main__":
    role, kind, where = sys.argv[1:4]
    assert kind in ("whip", "whep"), kind
    asyncio.run(node(kind, int(where)) if role == "node" else client(kind, where))
