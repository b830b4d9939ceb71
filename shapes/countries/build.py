"""Build countries-50m.json, the country outlines ecrec:PointInCountryCheck uses, from world-atlas.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python shapes/countries/build.py package/countries-50m.json > shapes/countries/countries-50m.json

world-atlas redistributes Natural Earth's Admin 0 country boundaries (1:50m, version 4.1.0, public
domain) as TopoJSON. This decodes its arcs into rings of (longitude, latitude) pairs, rounded to
0.001 degree (about 100 m, far finer than the check's 10 km tolerance), for the countries of
Europe and its neighbours, keyed by ISO 3166-1 alpha-2 code.
"""

import json
import sys

#: ISO 3166-1 numeric -> alpha-2, for the countries kept.
COUNTRIES = {
    "008": "AL", "020": "AD", "040": "AT", "056": "BE", "070": "BA", "100": "BG", "112": "BY", "191": "HR",
    "196": "CY", "203": "CZ", "208": "DK", "233": "EE", "246": "FI", "250": "FR", "276": "DE", "300": "GR",
    "348": "HU", "352": "IS", "372": "IE", "380": "IT", "428": "LV", "438": "LI", "440": "LT", "442": "LU",
    "470": "MT", "498": "MD", "492": "MC", "499": "ME", "528": "NL", "807": "MK", "578": "NO", "616": "PL",
    "620": "PT", "642": "RO", "674": "SM", "688": "RS", "703": "SK", "705": "SI", "724": "ES", "752": "SE",
    "756": "CH", "792": "TR", "804": "UA", "826": "GB", "831": "GG", "832": "JE", "833": "IM", "234": "FO",
}


def decode(topology: dict) -> dict:
    scale_x, scale_y = topology["transform"]["scale"]
    shift_x, shift_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((round(x * scale_x + shift_x, 3), round(y * scale_y + shift_y, 3)))
        arcs.append(points)

    def ring(indexes):
        out = []
        for i in indexes:
            points = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
            out.extend(points if not out else points[1:])
        return out

    countries = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = COUNTRIES.get(geometry.get("id"))
        if code is None:
            continue
        polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        countries[code] = [[ring(r) for r in polygon] for polygon in polygons]
    return countries


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        outlines = decode(json.load(fh))
    json.dump({"source": "Natural Earth 1:50m Admin 0 countries 4.1.0 (public domain), via world-atlas 2.0.2",
               "countries": outlines}, sys.stdout, separators=(",", ":"))
