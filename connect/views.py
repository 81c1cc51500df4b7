from django.http import JsonResponse


def descriptor(request):
    return JsonResponse({})
