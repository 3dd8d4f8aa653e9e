"""The touchscreen: the only package that imports kivy (screens, widgets), over the
plain-Python view models in `appliance.ui.viewmodels`."""
