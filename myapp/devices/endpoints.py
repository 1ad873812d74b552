"""HTTP for devices: provisioning, keys (shown once), rotation, deletion."""

from flask import url_for
from flask_restx import Namespace, Resource

from myapp.db import ID_MAX
from myapp.decorators import authenticated, body, query, response
from myapp.devices import schemas, service
from myapp.pagination import keyset_page, page_parser

ns = Namespace("devices", description="Devices and their upload keys", path="/devices")

_list_args = page_parser()


@ns.route("/")
class DeviceList(Resource):
    @ns.doc(id="listDevices")
    @response(ns, 200, "A page of your devices, in id order", schemas.DEVICE_PAGE)
    @authenticated(ns)
    @query(ns, _list_args)
    def get(self, caller, args):
        """Your devices."""
        return keyset_page(
            service.list_devices,
            args,
            scope="devices",
            serialize=schemas.device_public,
            user_id=caller.user_id,
        )

    @ns.doc(id="createDevice")
    @response(
        ns, 201, "Created, with its key (shown only now)", schemas.DEVICE_WITH_KEY
    )
    @authenticated(ns, 409)
    @body(ns, schemas.CREATE)
    def post(self, caller, data):
        """Add a device; the answer holds its key, which is never shown again."""
        device, key = service.create_device(user_id=caller.user_id, **data)
        location = url_for("api.device", device_id=device.id)
        return schemas.device_with_key(device, key), 201, {"Location": location}


# A larger number names no device (PostgreSQL would reject it as a key).
@ns.route(f"/<int(max={ID_MAX}):device_id>", endpoint="device")
class DeviceItem(Resource):
    @ns.doc(id="getDevice")
    @response(ns, 200, "The device", schemas.DEVICE)
    @authenticated(ns, 404)
    def get(self, caller, device_id):
        """One of your devices."""
        device = service.get_device(user_id=caller.user_id, device_id=device_id)
        return schemas.device_public(device)

    @ns.doc(id="updateDevice")
    @response(ns, 200, "Updated; in effect from the next request", schemas.DEVICE)
    @authenticated(ns, 404)
    @body(ns, schemas.UPDATE)
    def patch(self, caller, device_id, data):
        """Rename a device or change the sensors it may write."""
        device = service.update_device(
            user_id=caller.user_id, device_id=device_id, changes=data
        )
        return schemas.device_public(device)

    @ns.doc(id="deleteDevice")
    @response(ns, 204, "Deleted; its keys stop working, its readings stay")
    @authenticated(ns, 404)
    def delete(self, caller, device_id):
        """Delete a device: its keys answer 401 from now on."""
        service.delete_device(user_id=caller.user_id, device_id=device_id)
        return "", 204


@ns.route(f"/<int(max={ID_MAX}):device_id>/rotate")
class DeviceRotate(Resource):
    @ns.doc(id="rotateDeviceKey")
    @response(
        ns, 200, "The device with its new key (shown only now)", schemas.DEVICE_WITH_KEY
    )
    @authenticated(ns, 404)
    @body(ns, schemas.ROTATE)
    def post(self, caller, device_id, data):
        """Give a device a new key; the old one works grace_seconds more."""
        device, key = service.rotate_key(
            user_id=caller.user_id, device_id=device_id, **data
        )
        return schemas.device_with_key(device, key)
